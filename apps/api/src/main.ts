import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { RedisJobEvents } from '@tinyb/events';
import {
  CodeJobQueue,
  GitHubTriggerQueue,
  RedisSubmitRateLimiter,
  WorkerRegistry,
  createRedisConnection,
  keyPrefixFor,
  redisTarget,
  waitForRedis,
} from '@tinyb/queue';
import { RedactingJobEventPublisher, Redactor } from '@tinyb/core';
import { createLogger, loadDotEnv, registerEnvSecrets, runMain, startTracing } from '@tinyb/runtime';
import { GitHubWebhookHandler } from '@tinyb/github-triggers';
import { createApp } from './create-app.js';
import { GitHubPullRequestPreflight } from './github-pull-request-preflight.js';
import { loadApiEnv } from './env.js';

/** The API's composition root: the only place that reads the environment and builds adapters. */
runMain(async () => {
  loadDotEnv();
  const env = loadApiEnv();
  // Every secret this process holds (API_TOKEN, the Redis password), registered before anything is logged.
  const redactor = new Redactor();
  registerEnvSecrets(redactor, env);
  const logger = createLogger({ name: 'api', level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? env.NODE_ENV !== 'production', redactor });
  const { version } = createRequire(import.meta.url)('../package.json') as { version: string };
  // Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set; each submit then starts its job's trace.
  const tracing = startTracing({
    serviceName: env.OTEL_SERVICE_NAME ?? 'tinyb-api',
    serviceVersion: version,
    ...(env.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
  });

  // Fail fast: a request must answer 503 while Redis is away, not wait in ioredis' offline queue. The Queue
  // inside CodeJobQueue only adds and reads (BullMQ's "failing fast when Redis is down" pattern); the events'
  // subscriber is a duplicate, and its followers retry their reads until Redis is back.
  // A single Redis, or a Redis Cluster with REDIS_CLUSTER_NODES (then the prefix carries a {hash tag}).
  const target = redisTarget({ url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, password: env.REDIS_PASSWORD });
  const prefix = keyPrefixFor(target, env.REDIS_PREFIX);
  const redis = createRedisConnection(target, logger, { failFastAfterMs: env.REDIS_COMMAND_TIMEOUT_MS });
  await waitForRedis(redis, env.REDIS_STARTUP_TIMEOUT_MS);
  // One BullMQ queue per known agent (plus the legacy single queue, for lookups and Bull Board).
  const queue = new CodeJobQueue({
    redis,
    prefix,
    agents: env.KNOWN_AGENTS,
    attempts: env.JOB_ATTEMPTS,
    backoffDelayMs: env.JOB_BACKOFF_MS,
    logger,
  });
  // What the API publishes (`job.queued` carries the request's prompt) is redacted like the worker's events.
  const events = RedactingJobEventPublisher.around(
    new RedisJobEvents({ redis, keyPrefix: prefix, retentionMs: env.EVENTS_RETENTION_MS, logger }),
    redactor,
  );

  if (!env.API_TOKEN && env.API_KEYS.length === 0) {
    logger.warn('neither API_TOKEN nor API_KEYS is set: the API is open, and every client can see and cancel every job');
  } else {
    logger.info({ tenants: env.API_KEYS.map((k) => k.tenant), admin: Boolean(env.API_TOKEN) }, 'api keys loaded');
  }

  const board = new ExpressAdapter();
  board.setBasePath('/admin/queues');

  // GitHub as a trigger: the route verifies, deduplicates and enqueues; workers (which hold the GitHub
  // credentials) check the sender's access and do the rest.
  const githubTriggers = env.GITHUB_WEBHOOK_SECRET ? new GitHubTriggerQueue({ redis, prefix, logger }) : undefined;
  const githubWebhooks =
    env.GITHUB_WEBHOOK_SECRET && githubTriggers
      ? new GitHubWebhookHandler({
          secret: env.GITHUB_WEBHOOK_SECRET,
          rules: { githubUrl: env.GITHUB_URL, label: env.TRIGGER_LABEL, command: '/tinyb' },
          inbox: githubTriggers,
          logger,
        })
      : undefined;
  if (githubWebhooks) logger.info({ label: env.TRIGGER_LABEL }, 'github webhooks accepted at POST /webhooks/github');
  // The trigger queue too: a delivery stuck on a GitHub outage shows there, with its error.
  const boardQueues = [...queue.queues, ...(githubTriggers ? [githubTriggers.queue] : [])];
  createBullBoard({ queues: boardQueues.map((q) => new BullMQAdapter(q)), serverAdapter: board });

  const app = createApp({
    config: {
      name: 'tiny-backspace',
      version,
      githubUrl: env.GITHUB_URL,
      defaultAgent: env.DEFAULT_AGENT,
      knownAgents: env.KNOWN_AGENTS,
      sseHeartbeatMs: env.SSE_HEARTBEAT_MS,
      sseShedLagMs: env.SSE_SHED_LAG_MS,
      maxStreamsPerProcess: env.MAX_STREAMS_PER_PROCESS,
      webDistDir: env.WEB_DIST_DIR ?? fileURLToPath(new URL('../../web/dist', import.meta.url)),
      ...(env.API_TOKEN ? { apiToken: env.API_TOKEN } : {}),
      apiKeys: env.API_KEYS,
      maxActiveJobsPerTenant: env.MAX_ACTIVE_JOBS_PER_TENANT,
    },
    ...(env.RATE_LIMIT_SUBMITS_PER_MIN > 0
      ? { rateLimiter: new RedisSubmitRateLimiter({ redis, prefix, submitsPerMinute: env.RATE_LIMIT_SUBMITS_PER_MIN }) }
      : {}),
    queue,
    events,
    agents: new WorkerRegistry({ redis, prefix, logger }),
    logger,
    adminRouter: board.getRouter(),
    ...(env.GITHUB_TOKEN ? { pullRequestPreflight: new GitHubPullRequestPreflight({ apiUrl: env.GITHUB_API_URL, token: env.GITHUB_TOKEN, logger }) } : {}),
    ...(githubWebhooks ? { githubWebhooks } : {}),
    ...(tracing ? { tracing } : {}),
  });

  const server = app.listen(env.PORT, env.HOST, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : env.PORT;
    logger.info({ port, host: env.HOST }, 'api listening');
  });
  server.on('error', (err) => {
    logger.error({ err }, 'api server error');
    process.exit(1);
  });

  const shutdown = async (signal: string) => {
    logger.info({ signal }, 'api shutting down');
    // Open SSE streams would keep `close` waiting forever; clients reconnect with Last-Event-ID elsewhere.
    server.closeAllConnections();
    server.close();
    await events.close();
    await queue.close();
    await githubTriggers?.close();
    await redis.quit().catch(() => redis.disconnect());
    await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'could not export the last spans'));
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
});
