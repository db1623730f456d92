import { setTimeout as sleep } from 'node:timers/promises';
import type { FanoutSystem, FanoutSystemName } from './fanout-systems.js';
import { HealthProber } from './health-prober.js';
import { round, summarize } from './percentiles.js';
import { treeCpuMs, treeRssKb } from './proc-tree.js';
import { SseSwarm } from './sse-swarm.js';

export interface FanoutShape {
  jobs: number;
  clientsPerJob: number;
  /** Events published to every job, one round every `intervalMs`. */
  events: number;
  intervalMs: number;
}

export interface FanoutRow {
  system: FanoutSystemName;
  clients: number;
  jobs: number;
  latencyMs: { p50: number; p99: number; max: number };
  deliveriesPerSec: number;
  lost: number;
  rssKbPerConnection: number | null;
  /** Clients still connected at the end (of `clients`). */
  held: number;
  /** `GET /health` every 250 ms from another thread during publishing: p99 and max in ms. */
  healthP99Ms: number | null;
  healthMaxMs: number | null;
  connectFailures: number;
  refusals: Record<string, number>;
  /** CPU of the server's process tree over a quiet window with every stream still open, % of one core. */
  idleCpuPct?: number;
}

export interface FanoutRunOptions {
  settleMs: number;
  /** After the last publish, how long the deliveries may take to come in. */
  drainTimeoutMs: number;
  /** Wait after the last delivery before the idle window opens. */
  idleSettleMs: number;
  idleWindowMs: number;
  log: (line: string) => void;
}

const stamp = (seq: number) => `bench seq=${seq} sentAt=${performance.now()}`;

/**
 * One shape on one system: C clients on J channels, then M timestamped events per channel at a fixed rate.
 * Latency is publish call → stamp parsed by the client, both in this process (one clock).
 */
export async function runFanoutShape(system: FanoutSystem, shape: FanoutShape, opts: FanoutRunOptions & { measureIdle: boolean }): Promise<FanoutRow> {
  const clients = shape.jobs * shape.clientsPerJob;
  opts.log(`fanout ${system.name}: ${shape.jobs} job(s) x ${shape.clientsPerJob} client(s)`);
  const channels = await system.channels(shape.jobs);
  await sleep(500);
  const rssBefore = treeRssKb(system.rootPid);
  const swarm = new SseSwarm({ host: system.host, port: system.port, path: (i) => system.streamPath(channels[i % channels.length]!) });
  try {
    await swarm.open(clients);
    await sleep(opts.settleMs);
    const rssConnected = treeRssKb(system.rootPid);
    const connectedStats = swarm.stats();
    const prober = new HealthProber(system.healthUrl);
    const start = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < shape.events; i++) {
      const wait = start + i * shape.intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
      const published = system.publish(channels, stamp(i));
      published.catch(() => undefined);
      pending.push(published);
    }
    await Promise.all(pending);
    const expected = connectedStats.connected * shape.events;
    const deadline = performance.now() + opts.drainTimeoutMs;
    while (swarm.delivered < expected && performance.now() < deadline) await sleep(50);
    const health = summarize(await prober.stop());
    const latency = summarize(swarm.latencies);
    const end = swarm.stats();
    let idleCpuPct: number | undefined;
    if (opts.measureIdle) {
      // Past the burst's garbage collection (see RUN in bench-fanout-section.ts): the steady state of open streams.
      await sleep(opts.idleSettleMs);
      const cpu0 = treeCpuMs(system.rootPid);
      const t0 = performance.now();
      await sleep(opts.idleWindowMs);
      idleCpuPct = round(((treeCpuMs(system.rootPid) - cpu0) / (performance.now() - t0)) * 100, 1);
    }
    const row: FanoutRow = {
      system: system.name,
      clients,
      jobs: shape.jobs,
      latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
      deliveriesPerSec: round(swarm.delivered / swarm.deliverySpanSec, 0),
      lost: clients * shape.events - swarm.delivered,
      rssKbPerConnection: connectedStats.connected > 0 ? round((rssConnected - rssBefore) / connectedStats.connected, 1) : null,
      held: end.open,
      healthP99Ms: Number.isFinite(health.p99) ? health.p99 : null,
      healthMaxMs: Number.isFinite(health.max) ? health.max : null,
      connectFailures: end.failed,
      refusals: end.refusals,
      ...(idleCpuPct === undefined ? {} : { idleCpuPct }),
    };
    opts.log(`fanout ${system.name} ${clients}c/${shape.jobs}j: p99 ${row.latencyMs.p99} ms, lost ${row.lost}, held ${row.held}, health p99 ${row.healthP99Ms} ms${idleCpuPct === undefined ? '' : `, idle cpu ${idleCpuPct}%`}`);
    return row;
  } finally {
    swarm.close();
    // Let the server notice the closed streams before the next shape measures its memory.
    await sleep(1_500);
  }
}
