import type { Logger } from '@tinyb/core';
import type { AttemptRegistry, RunningAttempt, SandboxRef } from '@tinyb/queue';

export interface LeftoverSandboxSweeperDeps {
  registry: Pick<AttemptRegistry, 'orphaned' | 'end' | 'aliveForMs'>;
  /** This machine's name, as attempts record it. */
  host: string;
  /** The provider this worker can destroy sandboxes of (`SandboxProvider.name`). */
  provider: string;
  /** Local sandboxes (directories and processes of one machine) can be destroyed only on the host that made them. */
  sandboxesAreLocal: boolean;
  /** Destroys one sandbox of a dead attempt: idempotent. */
  destroy(sandbox: SandboxRef): Promise<void>;
  /** Runs the provider's own fleet-wide sweep now (Daytona's reaper), after a takeover. Optional. */
  sweepProvider?(): Promise<void>;
  /**
   * Records of dead attempts this worker cannot clean up (another machine's local sandbox, another provider's)
   * are dropped past this age: by then their machine's age-based sweep has removed the directory.
   */
  forgetAfterMs: number;
  logger: Logger;
  now?: () => number;
}

export interface LeftoverSweepResult {
  destroyed: number;
  /** Dead attempts that never made a sandbox, or whose records were too old to act on. */
  forgotten: number;
  /** Dead attempts left for another machine or provider. */
  leftForOthers: number;
  failed: number;
}

/**
 * Destroys the sandboxes of attempts no live worker runs (the attempt registry says which: their worker's
 * beat expired) and forgets their records. Run when a worker starts and when it takes a job over; the
 * providers' age-based sweeps stay as the backstop for whatever this misses (a record lost with Redis).
 */
export class LeftoverSandboxSweeper {
  private readonly now: () => number;
  private sweeping: Promise<LeftoverSweepResult> | undefined;
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: LeftoverSandboxSweeperDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** One sweep at a time in this process; a caller during a sweep shares it. */
  sweep(): Promise<LeftoverSweepResult> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  /**
   * After taking a job over: the lost worker's locks expired, and its beat (as long as a lock) expires about
   * when they did; waits for that (never destroy a sandbox while its worker still counts as alive), then sweeps.
   * Runs in the background; `close()` waits for it.
   */
  afterTakeover(previousWorkerId: string | undefined): void {
    const run = (async () => {
      if (previousWorkerId !== undefined) {
        const aliveForMs = await this.deps.registry.aliveForMs(previousWorkerId);
        if (aliveForMs > 0) await new Promise((resolve) => setTimeout(resolve, aliveForMs + 50));
      }
      const result = await this.sweep();
      if (result.destroyed > 0 || result.failed > 0) this.deps.logger.info({ ...result, previousWorkerId }, 'leftovers of lost attempts swept');
      await this.deps.sweepProvider?.();
    })().catch((err: unknown) => this.deps.logger.error({ err }, 'leftover sweep after a takeover failed'));
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pending, this.sweeping?.catch(() => undefined)]);
  }

  private async sweepOnce(): Promise<LeftoverSweepResult> {
    const result: LeftoverSweepResult = { destroyed: 0, forgotten: 0, leftForOthers: 0, failed: 0 };
    for (const attempt of await this.deps.registry.orphaned()) {
      try {
        const sandbox = attempt.sandbox;
        if (sandbox !== undefined && this.canDestroy(attempt, sandbox)) {
          await this.deps.destroy(sandbox);
          result.destroyed += 1;
          this.deps.logger.warn({ jobId: attempt.jobId, attempt: attempt.attempt, workerId: attempt.workerId, sandbox }, 'destroyed the sandbox of a lost attempt');
        } else if (sandbox !== undefined && this.now() - Date.parse(attempt.startedAt) < this.deps.forgetAfterMs) {
          result.leftForOthers += 1;
          continue;
        } else {
          result.forgotten += 1;
        }
        await this.deps.registry.end(attempt.jobId, attempt.attempt);
      } catch (err) {
        result.failed += 1;
        this.deps.logger.warn({ err, jobId: attempt.jobId, attempt: attempt.attempt }, 'could not destroy the sandbox of a lost attempt');
      }
    }
    return result;
  }

  private canDestroy(attempt: RunningAttempt, sandbox: SandboxRef): boolean {
    if (sandbox.provider !== this.deps.provider) return false;
    return !this.deps.sandboxesAreLocal || attempt.host === this.deps.host;
  }
}
