import { hostname } from 'node:os';
import { RedisJobEvents } from '@tinyb/events';
import {
  CodeJobQueue,
  createCodeWorker,
  createRedisConnection,
  RedisLease,
  WorkerRegistry,
  listenForCancelRequests,
  redisConnectionOptions,
  waitForRedis,
} from '@tinyb/queue';
import { createLogger, loadDotEnv, registerEnvSecrets, runMain } from '@tinyb/runtime';
import { Redactor } from '@tinyb/core';
import { buildAgents, buildGitHost, buildSandbox } from './adapters.js';
import { loadWorkerEnv } from './env.js';
import { SHUTDOWN_REASON, createProcessor } from './processor.js';

/** The worker's composition root: the only place that reads the environment and builds adapters. */
runMain(async () => {
  loadDotEnv();
  const env = loadWorkerEnv();
  // Every secret this process holds, registered before anything is logged; per-job tokens are added as minted.
  const redactor = new Redactor();
  registerEnvSecrets(redactor, env);
  const logger = createLogger({ name: 'worker', level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? env.NODE_ENV !== 'production', redactor });
  const workerId = `${hostname()}:${process.pid}`;

  const sandbox = await buildSandbox(env, logger);
  const sandboxProvider = sandbox.provider;
  const agents = buildAgents(env);
  const gitHost = await buildGitHost(env, logger, (secret) => redactor.add(secret));

  const connection = redisConnectionOptions(env.REDIS_URL);
  const redis = createRedisConnection(env.REDIS_URL, logger);
  await waitForRedis(redis, env.REDIS_STARTUP_TIMEOUT_MS);
  const events = new RedisJobEvents({ redis, keyPrefix: env.REDIS_PREFIX, retentionMs: env.EVENTS_RETENTION_MS, logger });
  const queue = new CodeJobQueue({ redis, prefix: env.REDIS_PREFIX, logger });

  const processor = createProcessor({
    pipeline: {
      sandboxProvider,
      agents,
      gitHost,
      branchPrefix: env.BRANCH_PREFIX,
      redactor,
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
    jobTimeoutMs: env.JOB_TIMEOUT_MS,
    budget: {
      ...(env.JOB_MAX_COST_USD === undefined ? {} : { maxCostUsd: env.JOB_MAX_COST_USD }),
      ...(env.JOB_MAX_TOKENS === undefined ? {} : { maxTokens: env.JOB_MAX_TOKENS }),
    },
  });

  const worker = createCodeWorker(processor, {
    connection,
    prefix: env.REDIS_PREFIX,
    concurrency: env.WORKER_CONCURRENCY,
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
    prefix: env.REDIS_PREFIX,
    logger,
    onCancel: (jobId) => {
      if (worker.cancelJob(jobId, 'cancelled')) logger.info({ jobId }, 'cancelling running job');
    },
  });

  const housekeeping = await sandbox.startHousekeeping({
    // A job waiting for its next attempt is not active: that attempt gets a new sandbox.
    isJobActive: async (jobId) => (await queue.getJob(jobId))?.state === 'active',
    lease: new RedisLease(redis, `${env.REDIS_PREFIX}:sandbox-reaper`),
  });

  // Tell the API which agents this worker can run: it holds their credentials, the API does not.
  const registry = new WorkerRegistry({ redis, prefix: env.REDIS_PREFIX, logger });
  const heartbeat = await registry.startHeartbeat({
    workerId,
    agents: [...agents.values()].map((agent) => ({ name: agent.name })),
    sandbox: sandboxProvider.name,
    startedAt: new Date().toISOString(),
  });

  logger.info(
    { workerId, concurrency: env.WORKER_CONCURRENCY, sandbox: sandboxProvider.name, agents: [...agents.keys()] },
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
    heartbeat.stop();
    await housekeeping.stop();
    await sandbox.close();
    await cancels.close();
    await events.close();
    await queue.close();
    await redis.quit().catch(() => redis.disconnect());
    logger.info({}, 'worker stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
});
