import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** CPU used by each of the three processes over a span, as % of one core (200 = both cores of a 2-core box). */
export interface CpuShare {
  benchPct: number;
  apiPct: number | null;
  redisPct: number;
  /** Everything else on the machine (other processes, the kernel): high values mean a noisy run. */
  otherPct: number | null;
}

/** Raw CPU milliseconds of one span. */
export interface CpuTime {
  wallMs: number;
  benchMs: number;
  apiMs: number | null;
  redisMs: number;
  /** Busy time of all CPUs (Linux /proc/stat). */
  machineMs: number | null;
}

/** The CPU shares over one or more spans, taken together. */
export function cpuShare(spans: readonly CpuTime[]): CpuShare {
  const total = (pick: (t: CpuTime) => number | null) => spans.reduce<number | null>((acc, t) => {
    const v = pick(t);
    return acc === null || v === null ? null : acc + v;
  }, 0);
  const wallMs = total((t) => t.wallMs) ?? 0;
  const pct = (ms: number | null) => (ms === null || wallMs === 0 ? null : Math.round((ms / wallMs) * 100));
  const benchPct = pct(total((t) => t.benchMs)) ?? 0;
  const apiPct = pct(total((t) => t.apiMs));
  const redisPct = pct(total((t) => t.redisMs)) ?? 0;
  const machinePct = pct(total((t) => t.machineMs));
  const otherPct = machinePct === null ? null : Math.max(0, machinePct - benchPct - (apiPct ?? 0) - redisPct);
  return { benchPct, apiPct, redisPct, otherPct };
}

/**
 * Splits a span's CPU between the load generator (this process), the API process (Linux /proc), Redis
 * (INFO cpu) and the rest of the machine (/proc/stat), to show what a figure is bound by and whether
 * something else was competing for the cores.
 */
export class CpuMeter {
  constructor(
    private readonly redis: Redis,
    private readonly apiPid: number,
  ) {}

  /** Starts a span; the returned function ends it. Tick-based counters: spans under ~0.5 s are coarse. */
  async start(): Promise<() => Promise<CpuTime>> {
    const wall = performance.now();
    const bench = process.cpuUsage();
    const api = this.apiCpuMs();
    const machine = machineBusyMs();
    const redis = await this.redisCpuMs();
    return async () => {
      const redisMs = (await this.redisCpuMs()) - redis;
      const wallMs = performance.now() - wall;
      const used = process.cpuUsage(bench);
      const apiNow = this.apiCpuMs();
      const machineNow = machineBusyMs();
      return {
        wallMs,
        benchMs: (used.user + used.system) / 1000,
        apiMs: api === undefined || apiNow === undefined ? null : apiNow - api,
        redisMs,
        machineMs: machine === undefined || machineNow === undefined ? null : machineNow - machine,
      };
    };
  }

  private apiCpuMs(): number | undefined {
    try {
      // Fields after "(comm)": state is [0], utime [11], stime [12], in clock ticks (USER_HZ, 100 on Linux).
      const stat = readFileSync(`/proc/${this.apiPid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return undefined;
    }
  }

  private async redisCpuMs(): Promise<number> {
    const info = await this.redis.info('cpu');
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1000;
  }
}

/** Busy time of all CPUs since boot: the `cpu` line of /proc/stat minus idle and iowait, ticks → ms. */
function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return (ticks.reduce((a, b) => a + b, 0) - idle) * 10;
  } catch {
    return undefined;
  }
}
