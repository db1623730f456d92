import type { StoredJobEvent } from '@tinyb/core';
import { closeRedis } from '@tinyb/testkit/redis';
import { startRedisServer, type RedisServer } from '@tinyb/testkit/redis-server';
import { Redis } from 'ioredis';
import { jobEventKeys } from './job-event-keys.js';
import { RedisJobEvents } from './redis-job-events.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

/**
 * A follower on the API's kind of connection (no offline queue, short command timeout) and a publisher on a
 * worker's (offline queue on), across a real Redis shutdown and restart with AOF.
 */
describe('RedisJobEvents across a Redis outage', () => {
  let server: RedisServer;
  let apiRedis: Redis;
  let workerRedis: Redis;
  let api: RedisJobEvents;
  let worker: RedisJobEvents;
  let guard: AbortController;

  beforeEach(async () => {
    guard = new AbortController();
    server = await startRedisServer();
    apiRedis = new Redis(server.url, { maxRetriesPerRequest: null, enableOfflineQueue: false, commandTimeout: 300 });
    workerRedis = new Redis(server.url, { maxRetriesPerRequest: null });
    for (const r of [apiRedis, workerRedis]) r.on('error', () => undefined);
    await workerRedis.ping();
    await waitFor(() => apiRedis.status === 'ready', 5_000);
    // A slow safety poll, so only the reconnect wake-up can make recovery quick.
    api = new RedisJobEvents({ redis: apiRedis, keyPrefix: 'outage', notificationCheckMs: 30_000 });
    worker = new RedisJobEvents({ redis: workerRedis, keyPrefix: 'outage' });
  });
  afterEach(async () => {
    guard.abort();
    await Promise.all([api.close(), worker.close()]);
    await closeRedis(apiRedis, workerRedis);
    await server.close();
  });

  it('keeps a live follower through the outage and delivers every event once, in order, when Redis is back', async () => {
    const jobId = 'outage-job';
    await worker.publish(jobId, { type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'claude-code', draft: false });
    await worker.publish(jobId, { type: 'step.started', step: 'clone' });

    const received: StoredJobEvent[] = [];
    let ended = false;
    const following = (async () => {
      for await (const e of api.subscribe(jobId, { signal: guard.signal })) received.push(e);
      ended = true;
    })();
    await waitFor(() => received.length === 2, 5_000);

    await server.stop();
    // The worker keeps publishing; its events wait in the connection's offline queue.
    const during = [1, 2, 3].map((n) => worker.publish(jobId, { type: 'agent.message', text: `during outage ${n}` }));
    await sleep(1_500);
    expect(ended).toBe(false);
    expect(received).toHaveLength(2);

    const restartedAt = Date.now();
    await server.start();
    await Promise.all(during);
    await waitFor(() => received.length === 5, 5_000);
    const recoveryMs = Date.now() - restartedAt;
    await worker.publish(jobId, { type: 'job.cancelled' });
    await following;

    const history = await workerRedis.xrange(jobEventKeys('outage', jobId).events, '-', '+');
    expect(received.map((e) => e.id)).toEqual(history.map(([id]) => id));
    expect(received.map((e) => (e.event.type === 'agent.message' ? e.event.text : e.event.type))).toEqual([
      'job.queued',
      'step.started',
      'during outage 1',
      'during outage 2',
      'during outage 3',
      'job.cancelled',
    ]);
    // Woken by the reconnect, not by the 30 s safety poll.
    expect(recoveryMs).toBeLessThan(4_000);
  });

  it('lets a follower that starts during the outage begin once Redis is back', async () => {
    const jobId = 'late-follower';
    await worker.publish(jobId, { type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'claude-code', draft: false });
    await server.stop();
    const received: StoredJobEvent[] = [];
    const following = (async () => {
      for await (const e of api.subscribe(jobId, { signal: guard.signal })) received.push(e);
    })();
    await sleep(500);
    await server.start();
    await worker.publish(jobId, { type: 'job.cancelled' });
    await following;
    expect(received.map((e) => e.event.type)).toEqual(['job.queued', 'job.cancelled']);
  });
});
