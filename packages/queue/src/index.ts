export { redisConnectionOptions, DEFAULT_REDIS_URL, type RedisConnectionOptions } from './redis-connection-options.js';
export {
  CodeJobQueue,
  CODE_JOB_NAME,
  type CodeJobQueueDeps,
  type CodeJobSnapshot,
  type QueuedEventAnnouncer,
  type EnqueueOptions,
} from './code-job-queue.js';
export { listenForCancelRequests, type CancelListener, type CancelListenerDeps } from './cancel-listener.js';
export { CodeWorkerPool, createCodeWorkers, codeWorkerOptions, type CodeJobProcessor, type CodeWorkerOptions } from './code-worker.js';
export { JobSlots } from './job-slots.js';
export { mergePrometheusFamilies } from './merge-prometheus-families.js';
export { DEFAULT_QUEUE_PREFIX } from './queue-keys.js';
export { createRedisConnection, duplicateConnection, waitForRedis, type RedisConnectionBehaviour } from './create-redis-connection.js';
export { redisTarget, keyPrefixFor, workerConnectionFor, type RedisClient, type RedisTarget, type RedisTargetSettings, type ClusterNodeAddress } from './redis-target.js';
export { isRedisUnavailableError } from './redis-unavailable.js';
export { WorkerRegistry, WorkerAdvertisement, type WorkerRegistryDeps } from './worker-registry.js';
export { AttemptRegistry, RunningAttempt, SandboxRef, type AttemptRegistryDeps } from './attempt-registry.js';
export { RedisLease } from './redis-lease.js';
export { RedisSubmitRateLimiter, type RedisSubmitRateLimiterDeps } from './redis-submit-rate-limiter.js';
export { GitHubTriggerQueue, type GitHubTriggerQueueDeps } from './github-trigger-queue.js';
export { GitHubTriggerWorker, type FollowOutcome, type GitHubTriggerHandlers, type GitHubTriggerWorkerOptions } from './github-trigger-worker.js';
