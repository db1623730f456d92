import { cpus } from 'node:os';
import type { Redis } from 'ioredis';
import { startApi } from './api-process.js';
import { runFanoutShape, type FanoutRow, type FanoutShape } from './bench-fanout.js';
import { ensureDebianPackages, startNchan, startPushpin, tinyBackspaceSystem, type FanoutSystem, type FanoutSystemName } from './fanout-systems.js';

export interface FanoutSectionOptions {
  redisUrl: string;
  redis: Redis;
  redisPrefix: string;
  /** Clients on one job, in order; the largest also gets the idle-CPU window. */
  clientCounts: readonly number[];
  manyJobs: number;
  /** API_PROCESSES of the API under test; 0 runs src/main.ts directly (one process, no supervisor). */
  apiProcesses: number;
  /** Which systems run. */
  systems: readonly FanoutSystemName[];
  log: (line: string) => void;
}

export interface FanoutSection {
  rows: FanoutRow[];
  notes: string[];
  apiProcesses: number;
}

/** Bounded: every shape has a fixed number of events and a drain bound, so a stuck system costs seconds, not the run. */
const SINGLE_JOB: Omit<FanoutShape, 'clientsPerJob'> = { jobs: 1, events: 30, intervalMs: 100 };
const MANY_JOBS: Omit<FanoutShape, 'jobs'> = { clientsPerJob: 1, events: 10, intervalMs: 500 };
/**
 * Idle CPU is the steady state of open streams: its window opens a minute after the last delivery and lasts
 * two minutes, four rounds of the API's default heartbeat (SSE_HEARTBEAT_MS, 30 s), in 15 s slices. V8's memory
 * reducer runs up to three full collections 15-45 s after allocation stops (40-60 ms each for a process holding
 * 5,000 streams: 2-5% of a core over one slice); a window of one heartbeat round started at a minute still caught
 * a late one now and then, which said more about the collector's timing than about idle streams. The slices
 * are reported, so a collection that still falls inside shows as one slice.
 */
const RUN = { settleMs: 1_500, drainTimeoutMs: 10_000, idleSettleMs: 60_000, idleWindowMs: 120_000, idleSliceMs: 15_000 };

/**
 * The `fanout` section: our API (API_PROCESSES processes on one port), Pushpin and nginx + nchan, one after the
 * other on loopback, each with the same clients and the same published events. A system that cannot be
 * installed or started is skipped with a note; a shape that fails on one system is noted and the run goes on.
 */
export async function benchFanout(opts: FanoutSectionOptions): Promise<FanoutSection> {
  const wanted = (name: FanoutSystemName) => opts.systems.includes(name);
  const notes: string[] = [];
  const rows: FanoutRow[] = [];
  const installed = wanted('pushpin') || wanted('nchan') ? ensureDebianPackages(opts.log) : { pushpin: false, nchan: false };
  if (wanted('pushpin') && !installed.pushpin) notes.push('pushpin skipped: the Debian package pushpin is not installed and apt-get could not install it');
  if (wanted('nchan') && !installed.nchan) notes.push('nchan skipped: nginx and libnginx-mod-nchan are not installed and apt-get could not install them');

  const shapes: FanoutShape[] = [
    ...opts.clientCounts.map((c) => ({ ...SINGLE_JOB, clientsPerJob: c })),
    { ...MANY_JOBS, jobs: opts.manyJobs },
  ];
  const largest = Math.max(...opts.clientCounts);

  const starters: Array<{ name: FanoutSystemName; start: () => Promise<FanoutSystem> }> = [
    {
      name: 'tiny-backspace',
      start: async () => {
        const api = await startApi({ redisUrl: opts.redisUrl, redisPrefix: `${opts.redisPrefix}:fanout`, ...(opts.apiProcesses > 0 ? { processes: opts.apiProcesses } : {}) });
        const system = tinyBackspaceSystem(api, opts.redis, `${opts.redisPrefix}:fanout`);
        return { ...system, stop: async () => { await system.stop(); await api.stop(); } };
      },
    },
    ...(installed.pushpin ? [{ name: 'pushpin' as const, start: startPushpin }] : []),
    ...(installed.nchan ? [{ name: 'nchan' as const, start: startNchan }] : []),
  ];
  for (const starter of starters.filter((s) => wanted(s.name))) {
    let system: FanoutSystem;
    try {
      system = await starter.start();
    } catch (err) {
      notes.push(`${starter.name} skipped: could not start (${err instanceof Error ? err.message : String(err)})`);
      continue;
    }
    try {
      for (const shape of shapes) {
        try {
          rows.push(await runFanoutShape(system, shape, { ...RUN, log: opts.log, measureIdle: shape.jobs === 1 && shape.clientsPerJob === largest }));
        } catch (err) {
          notes.push(`${system.name} ${shape.jobs}x${shape.clientsPerJob} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    } finally {
      await system.stop().catch((err: unknown) => notes.push(`${system.name}: stopping failed: ${String(err)}`));
    }
  }
  return { rows, notes, apiProcesses: opts.apiProcesses };
}

export const defaultApiProcesses = (): number => cpus().length;
