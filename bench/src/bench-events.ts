import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { TinyBackspaceClient } from '@tinyb/client';
import { JobEvent } from '@tinyb/contracts';
import { RedisJobEvents } from '@tinyb/events';
import type { ApiProcess } from './api-process.js';
import { cpuShare, type CpuMeter, type CpuShare } from './cpu-meter.js';
import { BENCH_REPO_URL } from './bench-enqueue.js';
import { ratio, round, summarize, type LatencySummary } from './percentiles.js';

export interface DeliveryScenario {
  jobs: number;
  clientsPerJob: number;
  /** Events published to each job, one every `intervalMs`. */
  events: number;
  intervalMs: number;
}

export interface DeliveryBenchOptions extends DeliveryScenario {
  api: ApiProcess;
  redis: Redis;
  redisPrefix: string;
  cpu: CpuMeter;
  /** Bound on each wait (all clients connected; all deliveries in after the last publish). */
  waitTimeoutMs: number;
}

interface DeliveryFigures {
  latencyMs: LatencySummary;
  deliveriesPerSec: number;
  delivered: number;
  expected: number;
  connectAllMs: number;
  /** CPU while publishing and delivering. */
  cpu: CpuShare;
}

/**
 * Publish → receipt latency of `agent.message` events whose text carries `performance.now()` at publish time.
 * Publisher and receivers share this process (one clock); so they also share its CPU, on both sides.
 * - `api`: `RedisJobEvents.publish` (as a worker does) → API follower → SSE → `TinyBackspaceClient.events`
 *   (fetch + `sseMessages` + `JobEvent.parse`), one HTTP connection per client.
 * - `baseline`: raw `XADD` of the same JSON → `XREAD BLOCK` on one Redis connection per simulated client,
 *   each entry JSON-parsed and checked with `JobEvent.parse` too.
 */
export async function benchEvents(opts: DeliveryBenchOptions) {
  const label = `${opts.jobs} job(s) x ${opts.clientsPerJob} client(s)`;
  process.stderr.write(`bench: events baseline, ${label}\n`);
  const baseline = await rawStreamDelivery(opts);
  process.stderr.write(`bench: events api, ${label}\n`);
  const api = await apiDelivery(opts);
  return {
    jobs: opts.jobs,
    clientsPerJob: opts.clientsPerJob,
    eventsPerJob: opts.events,
    intervalMs: opts.intervalMs,
    offeredDeliveriesPerSec: round((opts.jobs * opts.clientsPerJob * 1000) / opts.intervalMs, 0),
    baselineMode: 'XADD -> XREAD BLOCK, one reader connection per simulated client',
    baseline,
    api,
    ratiosToBaseline: {
      p50: ratio(api.latencyMs.p50, baseline.latencyMs.p50),
      p90: ratio(api.latencyMs.p90, baseline.latencyMs.p90),
      p99: ratio(api.latencyMs.p99, baseline.latencyMs.p99),
      max: ratio(api.latencyMs.max, baseline.latencyMs.max),
      deliveriesPerSec: ratio(api.deliveriesPerSec, baseline.deliveriesPerSec),
    },
  };
}

async function apiDelivery(opts: DeliveryBenchOptions): Promise<DeliveryFigures & { apiRssMb: Record<string, number | undefined> }> {
  const client = new TinyBackspaceClient({ baseUrl: opts.api.baseUrl });
  const jobIds = await Promise.all(range(opts.jobs).map(async () => (await client.submit({ repo_url: BENCH_REPO_URL, prompt: 'bench' })).id));
  const publisher = new RedisJobEvents({ redis: opts.redis, keyPrefix: opts.redisPrefix });
  const tracker = new DeliveryTracker(opts);
  const stop = new AbortController();
  const rssBeforeConnect = opts.api.rssMb();
  const connectStart = performance.now();

  const follow = async (jobId: string) => {
    for await (const { event } of client.events(jobId, { signal: stop.signal, maxReconnects: 0 })) {
      if (event.type === 'job.queued') tracker.connected();
      else if (event.type === 'agent.message') tracker.received(event.text);
    }
  };
  const followers = jobIds.flatMap((id) => range(opts.clientsPerJob).map(() => follow(id)));
  const failed = Promise.race(followers).then(() => {
    if (!stop.signal.aborted) throw new Error('an SSE stream ended early');
  });
  failed.catch(() => undefined);

  try {
    await Promise.race([tracker.waitConnected(), failed]);
    const connectAllMs = performance.now() - connectStart;
    const rssConnected = opts.api.rssMb();
    const cpuSpan = await opts.cpu.start();
    await publishPaced(opts, (i) =>
      Promise.all(jobIds.map((id) => publisher.publish(id, { type: 'agent.message', text: stamp(i) }))),
    );
    await Promise.race([tracker.waitDelivered(), failed]);
    return {
      ...tracker.figures(connectAllMs, cpuShare([await cpuSpan()])),
      apiRssMb: { beforeConnect: rssBeforeConnect, afterConnect: rssConnected, afterPublish: opts.api.rssMb() },
    };
  } finally {
    stop.abort();
    await Promise.allSettled(followers);
    await publisher.close();
  }
}

async function rawStreamDelivery(opts: DeliveryBenchOptions): Promise<DeliveryFigures> {
  // Fresh stream names per scenario: a reader starts from the first entry and must not see an earlier run's.
  const run = randomBytes(4).toString('hex');
  const jobIds = range(opts.jobs).map((j) => `raw-${run}-${j}`);
  const keyOf = (jobId: string) => `${opts.redisPrefix}:raw:${jobId}:events`;
  const xadd = (jobId: string, event: JobEvent) =>
    opts.redis.xadd(keyOf(jobId), 'MAXLEN', '~', 10_000, '*', 'data', JSON.stringify(event));
  // A first entry, like the API's `job.queued`: a reader that has read it is known to be following.
  for (const jobId of jobIds) {
    await xadd(jobId, { type: 'job.queued', jobId, at: new Date().toISOString(), repoUrl: BENCH_REPO_URL, agent: 'claude-code', draft: false });
  }
  const tracker = new DeliveryTracker(opts);
  const connections: Redis[] = [];
  let stopped = false;

  const read = async (jobId: string) => {
    const connection = opts.redis.duplicate();
    connections.push(connection);
    let last = '0';
    while (!stopped) {
      const reply: unknown = await connection.xread('BLOCK', 0, 'STREAMS', keyOf(jobId), last);
      for (const [id, fields] of streamEntries(reply)) {
        last = id;
        const event = JobEvent.parse(JSON.parse(fields[1] ?? ''));
        if (event.type === 'job.queued') tracker.connected();
        else if (event.type === 'agent.message') tracker.received(event.text);
      }
    }
  };
  const connectStart = performance.now();
  const readers = jobIds.flatMap((id) => range(opts.clientsPerJob).map(() => read(id)));
  const failed = Promise.race(readers).then(() => {
    if (!stopped) throw new Error('a stream reader ended early');
  });
  failed.catch(() => undefined);

  try {
    await Promise.race([tracker.waitConnected(), failed]);
    const connectAllMs = performance.now() - connectStart;
    const cpuSpan = await opts.cpu.start();
    await publishPaced(opts, (i) =>
      Promise.all(
        jobIds.map((jobId) => xadd(jobId, { type: 'agent.message', jobId, at: new Date().toISOString(), text: stamp(i) })),
      ),
    );
    await Promise.race([tracker.waitDelivered(), failed]);
    return tracker.figures(connectAllMs, cpuShare([await cpuSpan()]));
  } finally {
    stopped = true;
    for (const connection of connections) connection.disconnect();
    await Promise.allSettled(readers);
  }
}

/** Calls `tick(i)` every `intervalMs` on a fixed schedule (no drift), without waiting for one tick to finish. */
async function publishPaced(opts: DeliveryScenario, tick: (i: number) => Promise<unknown>): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < opts.events; i++) {
    const wait = start + i * opts.intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const published = tick(i);
    // Observed now, so a failure while the loop sleeps is not an unhandled rejection; Promise.all rethrows it.
    published.catch(() => undefined);
    pending.push(published);
  }
  await Promise.all(pending);
}

const stamp = (seq: number) => `bench seq=${seq} sentAt=${performance.now()}`;
const STAMP = /sentAt=([\d.]+)$/;

/** Counts connections and deliveries, and keeps each delivery's latency. */
class DeliveryTracker {
  private readonly latencies: number[] = [];
  private readonly clients: number;
  private readonly expected: number;
  private connections = 0;
  private firstSentAt = Number.POSITIVE_INFINITY;
  private lastReceivedAt = 0;
  private readonly allConnected = deferred();
  private readonly allDelivered = deferred();

  constructor(private readonly opts: DeliveryBenchOptions) {
    this.clients = opts.jobs * opts.clientsPerJob;
    this.expected = this.clients * opts.events;
  }

  connected(): void {
    if (++this.connections === this.clients) this.allConnected.resolve();
  }

  received(text: string): void {
    const now = performance.now();
    const sentAt = Number(STAMP.exec(text)?.[1]);
    this.latencies.push(now - sentAt);
    this.firstSentAt = Math.min(this.firstSentAt, sentAt);
    this.lastReceivedAt = now;
    if (this.latencies.length === this.expected) this.allDelivered.resolve();
  }

  /** Throws if not every client has connected within the wait bound. */
  async waitConnected(): Promise<void> {
    if (!(await within(this.allConnected.promise, this.opts.waitTimeoutMs))) {
      throw new Error(`only ${this.connections} of ${this.clients} clients connected within ${this.opts.waitTimeoutMs} ms`);
    }
  }

  /** Returns at the last delivery or at the wait bound: a shortfall shows as `delivered < expected`. */
  async waitDelivered(): Promise<void> {
    await within(this.allDelivered.promise, this.opts.waitTimeoutMs);
  }

  figures(connectAllMs: number, cpu: CpuShare): DeliveryFigures {
    const spanSec = (this.lastReceivedAt - this.firstSentAt) / 1000;
    return {
      latencyMs: summarize(this.latencies),
      deliveriesPerSec: round(this.latencies.length / spanSec, 0),
      delivered: this.latencies.length,
      expected: this.expected,
      connectAllMs: round(connectAllMs, 1),
      cpu,
    };
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** True if `promise` settled within `ms`; its rejection propagates. The timer never outlives the wait. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The entries of a RESP2 `XREAD` reply for one stream: `[[key, [[id, [field, value, ...]], ...]]]` or null. */
function streamEntries(reply: unknown): Array<[string, string[]]> {
  if (!Array.isArray(reply)) return [];
  const stream: unknown = reply[0];
  if (!Array.isArray(stream) || !Array.isArray(stream[1])) return [];
  return (stream[1] as unknown[]).filter(
    (entry): entry is [string, string[]] => Array.isArray(entry) && typeof entry[0] === 'string' && Array.isArray(entry[1]),
  );
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
