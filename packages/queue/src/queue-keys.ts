import { createHash } from 'node:crypto';

/**
 * The queue's own keys, beside BullMQ's (`${prefix}:${queueName}:*`). Raw idempotency keys are hashed:
 * they come from clients, may be long, and may hold something a client considers private.
 */
export const queueKeys = {
  idempotency: (prefix: string, key: string): string =>
    `${prefix}:idem:${createHash('sha256').update(key).digest('hex')}`,
  cancelFlag: (prefix: string, jobId: string): string => `${prefix}:cancel:${jobId}`,
  cancelChannel: (prefix: string): string => `${prefix}:cancel-requests`,
  /** Sorted set of worker ids, scored by when their advertisement expires. */
  workers: (prefix: string): string => `${prefix}:workers`,
  /** Hash of worker id → advertised JSON. */
  workerInfo: (prefix: string): string => `${prefix}:workers:info`,
  /** A worker's liveness: present (with a short TTL) while the worker beats. */
  workerAlive: (prefix: string, workerId: string): string => `${prefix}:worker-alive:${workerId}`,
  /** Hash of `${jobId}:${attempt}` → the running attempt's JSON (its worker, host and sandbox). */
  attempts: (prefix: string): string => `${prefix}:attempts`,
};

export const DEFAULT_QUEUE_PREFIX = 'tinyb';
