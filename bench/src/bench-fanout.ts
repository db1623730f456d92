import { setTimeout as sleep } from 'node:timers/promises';
import type { FanoutSystem, FanoutSystemName } from './fanout-systems.js';
import { ControlProber } from './control-prober.js';
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
  /**
   * Every control probe of the system (ours: health, ready, a job's status, a submit), each every 250 ms during
   * publishing: p99 and max in ms, and the answers that were not 2xx or never came.
   */
  controlRoutes: Record<string, { p99Ms: number | null; maxMs: number | null; probes: number; failures: number }>;
  connectFailures: number;
  refusals: Record<string, number>;
  /** CPU of the server's process tree over a quiet window with every stream still open, % of one core. */
  idleCpuPct?: number;
  /** The same window in 15 s slices, in order: a collection or a heartbeat round shows up as one slice. */
  idleCpuSlicesPct?: number[];
}

export interface FanoutRunOptions {
  settleMs: number;
  /** After the last publish, how long the deliveries may take to come in. */
  drainTimeoutMs: number;
  /** Wait after the last delivery before the idle window opens. */
  idleSettleMs: number;
  /** The idle window, measured in slices of `idleSliceMs`. */
  idleWindowMs: number;
  idleSliceMs: number;
  log: (line: string) => void;
}

const stamp = (seq: number) => `bench seq=${seq} sentAt=${performance.now()}`;
/** Carries no stamp: the swarm counts none of it. */
const WARM_UP_TEXT = 'bench warm-up';

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
    // As many rounds again first, not measured, on every system: they warm the JIT of this process's publisher
    // (for us the workers' own RedisJobEvents, which a long-running worker has long since compiled; cold, 1,000
    // publishes took 50-60 ms, warm 20) and of the servers that have one, so the figures are the steady state's.
    await publishRounds(system, channels, shape, () => WARM_UP_TEXT);
    await sleep(opts.settleMs);
    const prober = new ControlProber(system.controlProbes(channels));
    await publishRounds(system, channels, shape, stamp);
    const expected = connectedStats.connected * shape.events;
    const deadline = performance.now() + opts.drainTimeoutMs;
    while (swarm.delivered < expected && performance.now() < deadline) await sleep(50);
    const probes = await prober.stop();
    const controlRoutes = Object.fromEntries(
      Object.entries(probes).map(([name, { ms, failures }]) => {
        const s = summarize(ms);
        return [name, { p99Ms: finite(s.p99), maxMs: finite(s.max), probes: ms.length, failures }];
      }),
    );
    const health = controlRoutes['health'];
    const latency = summarize(swarm.latencies);
    const end = swarm.stats();
    const idle = opts.measureIdle ? await measureIdle(system.rootPid, opts) : undefined;
    const row: FanoutRow = {
      system: system.name,
      clients,
      jobs: shape.jobs,
      latencyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
      deliveriesPerSec: round(swarm.delivered / swarm.deliverySpanSec, 0),
      lost: clients * shape.events - swarm.delivered,
      rssKbPerConnection: connectedStats.connected > 0 ? round((rssConnected - rssBefore) / connectedStats.connected, 1) : null,
      held: end.open,
      healthP99Ms: health?.p99Ms ?? null,
      healthMaxMs: health?.maxMs ?? null,
      controlRoutes,
      connectFailures: end.failed,
      refusals: end.refusals,
      ...(idle === undefined ? {} : { idleCpuPct: idle.pct, idleCpuSlicesPct: idle.slices }),
    };
    const others = Object.entries(controlRoutes).filter(([name]) => name !== 'health');
    opts.log(
      `fanout ${system.name} ${clients}c/${shape.jobs}j: p99 ${row.latencyMs.p99} ms, lost ${row.lost}, held ${row.held}, health p99 ${row.healthP99Ms} ms` +
        others.map(([name, r]) => `, ${name} p99 ${r.p99Ms} ms${r.failures > 0 ? ` (${r.failures} failed)` : ''}`).join('') +
        (idle === undefined ? '' : `, idle cpu ${idle.pct}% (slices ${idle.slices.join(' ')})`),
    );
    return row;
  } finally {
    swarm.close();
    // Let the server notice the closed streams before the next shape measures its memory.
    await sleep(1_500);
  }
}

/**
 * CPU of the server's process tree while every stream stays open and nothing is published: the whole window's
 * average, and its slices. It opens `idleSettleMs` after the last delivery (see RUN in bench-fanout-section.ts).
 */
async function measureIdle(rootPid: number, opts: FanoutRunOptions): Promise<{ pct: number; slices: number[] }> {
  await sleep(opts.idleSettleMs);
  const start = { cpu: treeCpuMs(rootPid), at: performance.now() };
  const slices: number[] = [];
  let last = start;
  while (last.at - start.at < opts.idleWindowMs - 1) {
    await sleep(Math.min(opts.idleSliceMs, opts.idleWindowMs - (last.at - start.at)));
    const now = { cpu: treeCpuMs(rootPid), at: performance.now() };
    slices.push(round(((now.cpu - last.cpu) / (now.at - last.at)) * 100, 1));
    last = now;
  }
  return { pct: round(((last.cpu - start.cpu) / (last.at - start.at)) * 100, 2), slices };
}

/** `shape.events` rounds to every channel, one every `shape.intervalMs` on schedule; resolves when all are published. */
async function publishRounds(system: FanoutSystem, channels: readonly string[], shape: FanoutShape, text: (seq: number) => string): Promise<void> {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < shape.events; i++) {
    const wait = start + i * shape.intervalMs - performance.now();
    if (wait > 0) await sleep(wait);
    const published = system.publish(channels, text(i));
    published.catch(() => undefined);
    pending.push(published);
  }
  await Promise.all(pending);
}

const finite = (value: number): number | null => (Number.isFinite(value) ? value : null);
