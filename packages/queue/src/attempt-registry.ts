import type { RedisClient } from './redis-target.js';
import { z } from 'zod';
import { silentLogger, type Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX, queueKeys } from './queue-keys.js';

/** Where an attempt's sandbox lives: enough for another process to destroy it once its worker is gone. */
export const SandboxRef = z.object({
  /** The provider's name (`local`, `daytona`). */
  provider: z.string(),
  id: z.string(),
  /** A local sandbox's directory on `host`. */
  dir: z.string().optional(),
});
export type SandboxRef = z.infer<typeof SandboxRef>;

export const RunningAttempt = z.object({
  jobId: z.string(),
  /** The attempt's number as its job.started event gave it. */
  attempt: z.number().int().positive(),
  /** `host:pid` of the worker process running it. */
  workerId: z.string(),
  /** The machine: a local sandbox can only be destroyed there. */
  host: z.string(),
  startedAt: z.string(),
  /** Set once the attempt has created its sandbox. */
  sandbox: SandboxRef.optional(),
});
export type RunningAttempt = z.infer<typeof RunningAttempt>;

export interface AttemptRegistryDeps {
  redis: RedisClient;
  prefix?: string;
  /**
   * How long a worker counts as alive after its last beat. It should equal the job lock's duration: a worker
   * whose event loop is stuck long enough to lose its locks also stops counting as alive, and not earlier, so
   * a live worker's sandboxes are never taken for leftovers while it still holds their jobs. Default 8 s.
   */
  heartbeatTtlMs?: number;
  logger?: Logger;
}

/**
 * The attempts running anywhere in the fleet, and which workers are alive. Each worker beats (a key with a
 * short TTL) and records its attempts, with their sandbox once created, removing each when it ends. "No live
 * worker runs this attempt" is then a fact, not a guess: its worker's beat has expired. A record outlives its
 * worker only when the worker died, which is exactly when another process must clean up after it.
 */
export class AttemptRegistry {
  readonly heartbeatTtlMs: number;
  private readonly prefix: string;
  private readonly logger: Logger;

  constructor(private readonly deps: AttemptRegistryDeps) {
    this.prefix = deps.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.heartbeatTtlMs = deps.heartbeatTtlMs ?? 8_000;
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * Beats now and then every `intervalMs` (default a quarter of the TTL, so three beats can be late before the
   * worker counts as dead). `stop()` removes the beat: a worker that stopped cleanly runs nothing.
   */
  async startHeartbeat(workerId: string, intervalMs = Math.max(1, Math.floor(this.heartbeatTtlMs / 4))): Promise<{ stop(): Promise<void> }> {
    const key = queueKeys.workerAlive(this.prefix, workerId);
    const beat = () => this.deps.redis.set(key, new Date().toISOString(), 'PX', this.heartbeatTtlMs);
    await beat();
    const timer = setInterval(() => {
      beat().catch((err: unknown) => this.logger.warn({ err }, 'worker liveness beat failed'));
    }, intervalMs);
    timer.unref();
    return {
      stop: async () => {
        clearInterval(timer);
        await this.deps.redis.del(key);
      },
    };
  }

  async isAlive(workerId: string): Promise<boolean> {
    return (await this.deps.redis.exists(queueKeys.workerAlive(this.prefix, workerId))) === 1;
  }

  /** How long the worker still counts as alive without another beat: 0 once it does not. */
  async aliveForMs(workerId: string): Promise<number> {
    return Math.max(0, await this.deps.redis.pttl(queueKeys.workerAlive(this.prefix, workerId)));
  }

  async begin(attempt: Omit<RunningAttempt, 'sandbox'>): Promise<void> {
    await this.write(RunningAttempt.parse(attempt));
  }

  /** Adds the attempt's sandbox to its record. Only the attempt's own worker writes its record, so no one races it. */
  async attachSandbox(jobId: string, attempt: number, sandbox: SandboxRef): Promise<void> {
    const current = await this.get(jobId, attempt);
    if (current === undefined) throw new Error(`attempt ${attempt} of job ${jobId} is not registered`);
    await this.write({ ...current, sandbox: SandboxRef.parse(sandbox) });
  }

  /** The attempt is over (or its leftovers are cleaned up): forget it. */
  async end(jobId: string, attempt: number): Promise<void> {
    await this.deps.redis.hdel(queueKeys.attempts(this.prefix), field(jobId, attempt));
  }

  async get(jobId: string, attempt: number): Promise<RunningAttempt | undefined> {
    return parse(await this.deps.redis.hget(queueKeys.attempts(this.prefix), field(jobId, attempt)));
  }

  /** Every recorded attempt, oldest first. Unreadable entries are skipped (and logged). */
  async list(): Promise<RunningAttempt[]> {
    const all = await this.deps.redis.hgetall(queueKeys.attempts(this.prefix));
    const attempts: RunningAttempt[] = [];
    for (const [key, raw] of Object.entries(all)) {
      const parsed = parse(raw);
      if (parsed) attempts.push(parsed);
      else this.logger.warn({ key }, 'unreadable attempt record skipped');
    }
    return attempts.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.attempt - b.attempt);
  }

  /** The job's recorded attempts, oldest first. */
  async attemptsOf(jobId: string): Promise<RunningAttempt[]> {
    return (await this.list()).filter((a) => a.jobId === jobId);
  }

  /** Recorded attempts whose worker has no live beat: nobody runs them any more. */
  async orphaned(): Promise<RunningAttempt[]> {
    const attempts = await this.list();
    const workers = [...new Set(attempts.map((a) => a.workerId))];
    if (workers.length === 0) return [];
    const pipeline = this.deps.redis.pipeline();
    for (const id of workers) pipeline.exists(queueKeys.workerAlive(this.prefix, id));
    const replies = (await pipeline.exec()) ?? [];
    const alive = new Set(
      workers.filter((_, i) => {
        const [err, count] = replies[i] ?? [new Error('no reply'), 0];
        // An unanswered check counts as alive: never destroy what might still be in use.
        return err !== null || count === 1;
      }),
    );
    return attempts.filter((a) => !alive.has(a.workerId));
  }

  private async write(attempt: RunningAttempt): Promise<void> {
    await this.deps.redis.hset(queueKeys.attempts(this.prefix), field(attempt.jobId, attempt.attempt), JSON.stringify(attempt));
  }
}

function field(jobId: string, attempt: number): string {
  return `${jobId}:${attempt}`;
}

function parse(raw: string | null | undefined): RunningAttempt | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const parsed = RunningAttempt.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
