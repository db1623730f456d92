import type { Redis } from 'ioredis';

/** Calls and server time of each Redis command, from `INFO commandstats` (times in µs, summed since the stats began). */
export type CommandStats = Map<string, { calls: number; usec: number }>;

/** What Redis spent per job on each command over some spans: the profile of the server's side of a row. */
export interface RedisCommandProfile {
  /** Command → calls per job and server µs per job. A script's commands are listed too, their time inside the script's. */
  perJob: Record<string, { calls: number; us: number }>;
}

export async function commandStats(redis: Redis): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line.trim());
    if (m?.[1] !== undefined) stats.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return stats;
}

/**
 * Accumulates the difference of `INFO commandstats` over spans (read, never reset: the server may be someone's).
 * The stats are the whole server's: run nothing else against it while measuring.
 */
export class RedisCommandProfiler {
  private readonly totals = new Map<string, { calls: number; usec: number }>();
  private jobs = 0;

  constructor(private readonly redis: Redis) {}

  /** Starts a span; the returned function ends it, counting `jobs` jobs done in it. */
  async start(): Promise<(jobs: number) => Promise<void>> {
    const before = await commandStats(this.redis);
    return async (jobs: number) => {
      const after = await commandStats(this.redis);
      for (const [name, now] of after) {
        const was = before.get(name) ?? { calls: 0, usec: 0 };
        const total = this.totals.get(name) ?? { calls: 0, usec: 0 };
        this.totals.set(name, { calls: total.calls + now.calls - was.calls, usec: total.usec + now.usec - was.usec });
      }
      this.jobs += jobs;
    };
  }

  /** Commands with at least 0.1 call per job, most time first; INFO left out (it is how the bench measures). */
  profile(): RedisCommandProfile {
    const perJob: RedisCommandProfile['perJob'] = {};
    const counted = [...this.totals].filter(([name, t]) => name !== 'info' && this.jobs > 0 && t.calls / this.jobs >= 0.1);
    const rows = counted.sort((a, b) => b[1].usec - a[1].usec);
    for (const [name, t] of rows) perJob[name] = { calls: round2(t.calls / this.jobs), us: round2(t.usec / this.jobs) };
    return { perJob };
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
