import { duplicateConnection } from './create-redis-connection.js';
import type { RedisClient } from './redis-target.js';
import type { Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX, queueKeys } from './queue-keys.js';

export interface CancelListener {
  /** Unsubscribes and closes the listener's connection. */
  close(): Promise<void>;
}

export interface CancelListenerDeps {
  /** Any connection to the queue's Redis; the listener opens its own duplicate for pub/sub and closes it. */
  redis: RedisClient;
  prefix?: string;
  logger?: Logger;
  /** Called with each job id a cancel was requested for; a worker passes it to `worker.cancelJob`. */
  onCancel(jobId: string): void;
}

/**
 * How a cancel reaches the worker process that runs the job: `worker.cancelJob` works only in that
 * process, so every worker listens here and each tries it (the others answer false). Resolves once
 * subscribed. A request sent while this connection is down is not replayed: the persistent cancel flag
 * (checked when a job starts, see `CodeJobQueue.isCancelRequested`) covers jobs that start later.
 */
export async function listenForCancelRequests(deps: CancelListenerDeps): Promise<CancelListener> {
  const channel = queueKeys.cancelChannel(deps.prefix ?? DEFAULT_QUEUE_PREFIX);
  const connection = duplicateConnection(deps.redis);
  // ioredis reconnects by itself; without a listener it would print every failed attempt as unhandled.
  connection.on('error', (err: Error) => deps.logger?.warn({ err: err.message }, 'cancel listener redis error'));
  connection.on('message', (from: string, jobId: string) => {
    if (from === channel && jobId.length > 0 && jobId.length <= 128) deps.onCancel(jobId);
  });
  try {
    await connection.subscribe(channel);
  } catch (err) {
    connection.disconnect();
    throw err;
  }
  return {
    async close() {
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
