import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { silentLogger, type Logger } from '@tinyb/core';
import { RedisJobEvents } from '@tinyb/events';
import { CodeJobQueue, WorkerRegistry } from '@tinyb/queue';
import { RedisFixture } from '@tinyb/testkit/redis';
import type { Express } from 'express';
import { createApp, type ApiConfig, type ApiDeps } from './create-app.js';

type Redis = ReturnType<RedisFixture['connect']>;

/** An API on a free loopback port, on its own Redis key prefix, for the API's integration tests. */
export interface TestApi {
  fixture: RedisFixture;
  redis: Redis;
  queue: CodeJobQueue;
  events: RedisJobEvents;
  agents: WorkerRegistry;
  app: Express;
  server: Server;
  baseUrl: string;
  /** Closes every connection and the server, and deletes the prefix's keys (afterEach). */
  close(): Promise<void>;
}

export interface StartTestApiOptions {
  /** The Redis fixture's label (the key prefix names it). */
  label: string;
  config: ApiConfig;
  /** The queue's agents (KNOWN_AGENTS); default the built-in ones. */
  queueAgents?: string[];
  /** Default: silent. */
  logger?: Logger;
  /** More dependencies, built on the test's Redis (a rate limiter, Bull Board…). */
  deps?: (ctx: { redis: Redis; fixture: RedisFixture; queue: CodeJobQueue }) => Partial<ApiDeps>;
}

/** The real app over a real Redis: a queue, the event log, the worker registry, and `createApp` listening. */
export async function startTestApi(opts: StartTestApiOptions): Promise<TestApi> {
  const fixture = new RedisFixture(opts.label);
  const redis = fixture.connect();
  const queue = new CodeJobQueue({ redis, prefix: fixture.prefix, ...(opts.queueAgents ? { agents: opts.queueAgents } : {}) });
  const events = new RedisJobEvents({ redis, keyPrefix: fixture.prefix, subscriber: () => fixture.track(redis.duplicate()) });
  const agents = new WorkerRegistry({ redis, prefix: fixture.prefix });
  const app = createApp({ config: opts.config, queue, events, agents, logger: opts.logger ?? silentLogger, ...opts.deps?.({ redis, fixture, queue }) });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    fixture,
    redis,
    queue,
    events,
    agents,
    app,
    server,
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await events.close();
      await queue.close();
      await fixture.cleanup();
    },
  };
}
