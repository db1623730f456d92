import type { Logger } from '@tinyb/core';
import type { OwnSandbox } from './daytona-sandbox-provider.js';

export interface SandboxReaperDeps {
  /** Lists only Tiny Backspace's sandboxes and deletes one by id (`DaytonaSandboxProvider` does both). */
  provider: { listOwn(): Promise<OwnSandbox[]>; deleteById(id: string): Promise<void> };
  /** Whether a job is still being worked on (queued for a retry counts as not active: its next attempt makes a new sandbox). */
  isJobActive(jobId: string): Promise<boolean>;
  /** Older than this, a sandbox goes whatever its job says: the job's time limit plus slack. */
  maxAgeMs: number;
  /** One reaper at a time across the fleet (`new RedisLease(redis, key)` from @tinyb/queue). */
  lease: { tryAcquire(ttlMs: number): Promise<boolean>; release(): Promise<void> };
  logger: Logger;
  /** Default 60_000. */
  intervalMs?: number;
  now?: () => number;
}

/** `job_not_active`: the job finished, failed, or is unknown to the queue; `no_job_label`: nothing says whose it is. */
export type ReapReason = 'job_not_active' | 'no_job_label' | 'too_old';

export interface SweepResult {
  /** False when another process held the lease, so nothing was looked at. */
  ran: boolean;
  deleted: Array<{ id: string; jobId: string | undefined; reason: ReapReason }>;
  kept: number;
  failed: number;
}

/**
 * Deletes Daytona sandboxes that a worker leaked (it crashed, or its destroy failed): those whose job is
 * finished or unknown, and any older than `maxAgeMs`. It only ever sees sandboxes labelled `app:
 * tiny-backspace`, so it cannot touch anything else in the Daytona organisation.
 *
 * Only the holder of the lease sweeps. The lease is taken for 90% of the interval and not released after a
 * sweep, so the fleet sweeps about once per interval whoever ticks first; a sweep that outlasts the lease may
 * overlap another, which is harmless because deleting is idempotent (a 404 counts as deleted).
 */
export class SandboxReaper {
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<SweepResult> | undefined;
  private holdsLease = false;

  constructor(private readonly deps: SandboxReaperDeps) {
    this.intervalMs = deps.intervalMs ?? 60_000;
    this.now = deps.now ?? Date.now;
  }

  /** Sweeps now, then every interval; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      void this.sweepOnce().catch((err: unknown) => this.deps.logger.error({ err }, 'sandbox reaper sweep failed'));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops the timer, waits for a sweep under way, and gives the lease back so another worker can take over. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping?.catch(() => undefined);
    if (this.holdsLease) {
      this.holdsLease = false;
      await this.deps.lease.release().catch((err: unknown) => this.deps.logger.warn({ err }, 'sandbox reaper could not release its lease'));
    }
  }

  /** One sweep if the lease is ours (never two at once in this process). */
  sweepOnce(): Promise<SweepResult> {
    this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweep(): Promise<SweepResult> {
    const result: SweepResult = { ran: false, deleted: [], kept: 0, failed: 0 };
    if (!(await this.deps.lease.tryAcquire(Math.max(1, Math.floor(this.intervalMs * 0.9))))) return result;
    this.holdsLease = true;
    result.ran = true;
    const nowMs = this.now();
    for (const sandbox of await this.deps.provider.listOwn()) {
      try {
        const reason = await this.reasonToDelete(sandbox, nowMs);
        if (!reason) {
          result.kept += 1;
          continue;
        }
        await this.deps.provider.deleteById(sandbox.id);
        result.deleted.push({ id: sandbox.id, jobId: sandbox.jobId, reason });
        this.deps.logger.info({ sandboxId: sandbox.id, jobId: sandbox.jobId, reason }, 'sandbox reaped');
      } catch (err) {
        result.failed += 1;
        this.deps.logger.warn({ err, sandboxId: sandbox.id }, 'sandbox reaper could not handle a sandbox');
      }
    }
    return result;
  }

  private async reasonToDelete(sandbox: OwnSandbox, nowMs: number): Promise<ReapReason | undefined> {
    if (sandbox.createdAt && nowMs - sandbox.createdAt.getTime() > this.deps.maxAgeMs) return 'too_old';
    // A warm pool's sandbox waits for a job by design; past maxAgeMs (above) it goes like any other. One lent
    // to a job carries the job's labels instead.
    if (sandbox.jobId === undefined && sandbox.pool !== undefined) return undefined;
    if (sandbox.jobId === undefined) return 'no_job_label';
    return (await this.deps.isJobActive(sandbox.jobId)) ? undefined : 'job_not_active';
  }
}
