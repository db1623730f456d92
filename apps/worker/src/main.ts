import { hostname } from 'node:os';
import { RedisJobEvents } from '@tinyb/events';
import {
  AttemptRegistry,
  CodeJobQueue,
  createCodeWorkers,
  createRedisConnection,
  keyPrefixFor,
  RedisLease,
  redisTarget,
  WorkerRegistry,
  listenForCancelRequests,
  waitForRedis,
  workerConnectionFor,
} from '@tinyb/queue';
import { WorkerMetrics, combineObservers, createLogger, loadDotEnv, registerEnvSecrets, runMain, serveMetrics, startTracing } from '@tinyb/runtime';
import { BUILT_IN_AGENTS } from '@tinyb/contracts';
import { SandboxCheckRunner } from '@tinyb/checks';
import { Redactor } from '@tinyb/core';
import { buildAgents, buildEgressProxy, buildGitHost, buildSandbox, createRuntimeDir } from './adapters.js';
import { loadWorkerEnv } from './env.js';
import { LeftoverSandboxSweeper } from './leftover-sandbox-sweeper.js';
import { RecordedSandboxProvider } from './recorded-sandbox-provider.js';
import { buildModelAccess } from './model-access-setup.js';
import { SHUTDOWN_REASON, createProcessor } from './processor.js';
import { startGitHubTriggers } from './github-triggers-setup.js';

/** The worker's composition root: the only place that reads the environment and builds adapters. */
runMain(async () => {
  loadDotEnv();
  const env = loadWorkerEnv();
  // Every secret this process holds, registered before anything is logged; per-job tokens are added as minted.
  const redactor = new Redactor();
  registerEnvSecrets(redactor, env);
  const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? env.NODE_ENV !== 'production', redactor });
  const host = hostname();
  const workerId = `${host}:${process.pid}`;

  // The model keys stay in this process: sandboxes get per-attempt gateway tokens (also redacted wherever printed).
  const runtimeDir = await createRuntimeDir();
  // Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; metrics are served on METRICS_PORT (0: not served).
  const tracing = startTracing({
    serviceName: env.OTEL_SERVICE_NAME ?? 'tinyb-worker',
    ...(env.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });
  const metrics = new WorkerMetrics({ processMetrics: true });
  const metricsServer = env.METRICS_PORT > 0 ? await serveMetrics(metrics.registry, { port: env.METRICS_PORT }) : undefined;
  const modelAccess = await buildModelAccess(env, logger, {
    registerSecret: (value) => redactor.add(value),
    runtimeDir: runtimeDir.path,
    modelCallObserver: combineObservers(metrics.modelCallObserver, tracing?.modelCalls),
  });
  const egressProxy = await buildEgressProxy(env, logger, runtimeDir.path);
  const sandbox = await buildSandbox(env, logger, {
    network: {
      forwards: modelAccess.sandboxForward ? [modelAccess.sandboxForward] : [],
      ...(egressProxy ? { httpProxy: egressProxy.forward } : {}),
    },
    modelHosts: modelAccess.egressHosts,
  });
  const sandboxProvider = sandbox.provider;
  const agents = buildAgents(env);
  const gitHost = await buildGitHost(env, logger, (secret) => redactor.add(secret));

  // A single Redis, or a Redis Cluster with REDIS_CLUSTER_NODES (then the prefix carries a {hash tag}).
  const target = redisTarget({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, password: env.REDIS_PASSWORD });
  const prefix = keyPrefixFor(target, env.REDIS_PREFIX);
  const redis = createRedisConnection(target, logger);
  const connection = workerConnectionFor(target, redis);
  await waitForRedis(redis, env.REDIS_STARTUP_TIMEOUT_MS);
  const events = new RedisJobEvents({ redis, keyPrefix: prefix, retentionMs: env.EVENTS_RETENTION_MS, logger });
  // Job lookups by id (cancel flag, the reaper's isJobActive) search the built-in agents' queues and this worker's.
  const queue = new CodeJobQueue({ redis, prefix, agents: [...new Set([...BUILT_IN_AGENTS, ...agents.keys()])], logger });

  const housekeeping = await sandbox.startHousekeeping({
    // A job waiting for its next attempt is not active: that attempt gets a new sandbox.
    isJobActive: async (jobId) => (await queue.getJob(jobId))?.state === 'active',
    lease: new RedisLease(redis, `${prefix}:sandbox-reaper`),
  });

  // Running attempts (with their sandboxes) and this worker's liveness beat, in Redis: how any worker tells a
  // lost attempt from a running one. The beat lasts as long as a job lock, so a worker counts as dead exactly
  // when its jobs can be taken over.
  const attemptRegistry = new AttemptRegistry({ redis, prefix, heartbeatTtlMs: env.WORKER_LOCK_DURATION_MS, logger });
  const liveness = await attemptRegistry.startHeartbeat(workerId);
  const leftovers = new LeftoverSandboxSweeper({
    registry: attemptRegistry,
    host,
    provider: sandboxProvider.name,
    sandboxesAreLocal: sandbox.sandboxesAreLocal,
    destroy: (ref) => sandbox.destroyLeftover(ref),
    sweepProvider: () => housekeeping.sweepNow(),
    forgetAfterMs: env.JOB_TIMEOUT_MS + 60_000,
    logger,
  });
  void leftovers
    .sweep()
    .then((swept) => swept.destroyed > 0 && logger.warn(swept, 'destroyed sandboxes of attempts whose workers are gone'))
    .catch((err: unknown) => logger.error({ err }, 'startup sweep of lost attempts failed'));

  const processor = createProcessor({
    pipeline: {
      sandboxProvider: new RecordedSandboxProvider({
        provider: sandboxProvider,
        record: (spec, box) => attemptRegistry.attachSandbox(spec.jobId, spec.attempt, sandbox.describe(box)),
      }),
      agents,
      gitHost,
      modelAccess: modelAccess.access,
      branchPrefix: env.BRANCH_PREFIX,
      redactor,
      ...(env.CHECKS_ENABLED
        ? {
            checks: {
              runner: new SandboxCheckRunner({ checkTimeoutMs: env.CHECK_TIMEOUT_MS, totalTimeoutMs: env.CHECKS_TOTAL_TIMEOUT_MS }),
              maxFixRounds: env.CHECK_FIX_ROUNDS,
            },
          }
        : {}),
      ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
      limits: {
        agentTimeoutMs: env.AGENT_TIMEOUT_MS,
        agentMaxTurns: env.AGENT_MAX_TURNS,
        maxFiles: env.MAX_CHANGED_FILES,
        maxTotalBytes: env.MAX_CHANGE_BYTES,
        commandTimeoutMs: 5 * 60_000,
      },
    },
    events,
    isCancelRequested: (jobId) => queue.isCancelRequested(jobId),
    logger,
    redactor,
    workerId,
    host,
    attempts: attemptRegistry,
    onTakeover: (_jobId, previousWorkerId) => leftovers.afterTakeover(previousWorkerId),
    jobTimeoutMs: env.JOB_TIMEOUT_MS,
    metrics,
    ...(tracing ? { tracing } : {}),
    budget: {
      ...(env.JOB_MAX_COST_USD === undefined ? {} : { maxCostUsd: env.JOB_MAX_COST_USD }),
      ...(env.JOB_MAX_TOKENS === undefined ? {} : { maxTokens: env.JOB_MAX_TOKENS }),
    },
  });

  // One BullMQ Worker per agent queue this worker has credentials for, sharing WORKER_CONCURRENCY slots; the
  // legacy single queue is drained into the agents' queues.
  const worker = createCodeWorkers(processor, {
    connection,
    prefix,
    concurrency: env.WORKER_CONCURRENCY,
    // Short locks renewed often: a dead worker's jobs are taken over within seconds (see README, Reliability).
    lockDurationMs: env.WORKER_LOCK_DURATION_MS,
    stalledIntervalMs: env.WORKER_STALLED_INTERVAL_MS,
    agents: [...agents.keys()],
    onLegacyJobRefused: (jobId, reason) => {
      void events
        .publish(jobId, { type: 'job.failed', error: { code: 'unknown_agent', message: reason } })
        .catch((e: unknown) => logger.error({ err: e, jobId }, 'could not record a refused legacy job as failed'));
    },
  });
  worker.on('error', (err) => logger.error({ err }, 'worker error'));
  // A job whose worker died more often than BullMQ allows is failed by the stalled checker, not by our
  // processor: record its end here, or its clients would wait for a terminal event forever.
  worker.on('failed', (job, err) => {
    if (job?.id && err.message.includes('stalled more than allowable limit')) {
      void events
        .publish(job.id, { type: 'job.failed', error: { code: 'worker_lost', message: 'the job\'s worker stopped responding too many times' } })
        .catch((e: unknown) => logger.error({ err: e, jobId: job.id }, 'could not record a stalled job as failed'));
    }
  });

  const cancels = await listenForCancelRequests({
    redis,
    prefix,
    logger,
    onCancel: (jobId) => {
      if (worker.cancelJob(jobId, 'cancelled')) logger.info({ jobId }, 'cancelling running job');
    },
  });

  // Tell the API which agents this worker can run: it holds their credentials, the API does not.
  const registry = new WorkerRegistry({ redis, prefix, logger });
  const heartbeat = await registry.startHeartbeat({
    workerId,
    agents: [...agents.values()].map((agent) => ({ name: agent.name })),
    sandbox: sandboxProvider.name,
    startedAt: new Date().toISOString(),
  });

  // GitHub as a trigger: deliveries the API verified, acted on with this worker's GitHub credentials.
  const githubTriggers = env.GITHUB_TRIGGERS
    ? await startGitHubTriggers(env, { redis, prefix, connection, events, logger, registerSecret: (secret) => redactor.add(secret) })
    : undefined;

  logger.info(
    { workerId, concurrency: env.WORKER_CONCURRENCY, sandbox: sandboxProvider.name, agents: [...agents.keys()], modelCredentials: modelAccess.describe },
    'worker started',
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: env.WORKER_SHUTDOWN_TIMEOUT_MS }, 'worker stopping: no new jobs, waiting for running ones');
    // Past the grace period, running jobs are aborted as `worker_lost` (retryable) and go back to the queue.
    const deadline = setTimeout(() => worker.cancelAllJobs(SHUTDOWN_REASON), env.WORKER_SHUTDOWN_TIMEOUT_MS);
    await worker.close();
    clearTimeout(deadline);
    await githubTriggers?.close();
    heartbeat.stop();
    await leftovers.close();
    await liveness.stop();
    await housekeeping.stop();
    await sandbox.close();
    await modelAccess.close();
    await egressProxy?.close();
    await runtimeDir.remove();
    await cancels.close();
    await events.close();
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
    await metricsServer?.close();
    await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not export the last spans'));
    logger.info({}, 'worker stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
});
