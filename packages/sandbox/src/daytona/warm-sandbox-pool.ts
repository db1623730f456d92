import { randomUUID } from 'node:crypto';
import { silentLogger, throwIfAborted, type Logger, type SandboxProvider, type SandboxSpec } from '@tinyb/core';
import { jobLabels, type DaytonaSandboxProvider } from './daytona-sandbox-provider.js';
import type { DaytonaSandbox } from './daytona-sandbox.js';

export interface WarmSandboxPoolOptions {
  provider: Pick<DaytonaSandboxProvider, 'name' | 'create' | 'createPooled'>;
  /** Sandboxes kept ready (DAYTONA_POOL_SIZE). 0: no pool, every create goes to Daytona. */
  size: number;
  /**
   * A waiting sandbox older than this is replaced: Daytona stops (and then deletes) a sandbox idle for its
   * auto-stop interval, so this must stay below it. Default 10 minutes.
   */
  maxIdleMs?: number;
  /** After a failed fill, the next try waits this long (doubling to 60 s): a Daytona outage is not hammered. */
  retryDelayMs?: number;
  logger?: Logger;
  now?: () => number;
}

interface Waiting {
  sandbox: DaytonaSandbox;
  readyAtMs: number;
}

/**
 * Daytona sandboxes created ahead of need, from the same snapshot, so a job starts without waiting for one.
 * Each sandbox is lent once: `create` hands a waiting sandbox to the job (relabelled with its job and attempt,
 * so the reaper judges it like any job's sandbox) and the job's destroy deletes it as usual; the pool then
 * makes another. Waiting sandboxes are labelled `pool=<this pool's id>`: the reaper keeps them until they are
 * older than its age limit. Nothing is shared between jobs. With the pool empty (a burst, or Daytona slow), a
 * job gets a sandbox created for it, as without a pool.
 */
export class WarmSandboxPool implements SandboxProvider {
  readonly name: string;
  /** Written as each waiting sandbox's `pool` label. */
  readonly poolId = `pool-${randomUUID()}`;
  private readonly waiting: Waiting[] = [];
  private filling = 0;
  private readonly closed = new AbortController();
  private readonly maxIdleMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private retryDelayMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: WarmSandboxPoolOptions) {
    this.name = opts.provider.name;
    this.maxIdleMs = opts.maxIdleMs ?? 10 * 60_000;
    this.retryDelayMs = opts.retryDelayMs ?? 1_000;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'warm-sandbox-pool' });
    this.now = opts.now ?? Date.now;
  }

  /** Sandboxes ready to lend now. */
  get ready(): number {
    return this.waiting.length;
  }

  /** Starts filling the pool (in the background) and retiring idle sandboxes. */
  start(): void {
    this.refill();
    this.idleTimer = setInterval(() => this.retireIdle(), Math.max(1_000, Math.floor(this.maxIdleMs / 4)));
    this.idleTimer.unref();
  }

  async create(spec: SandboxSpec, signal: AbortSignal): Promise<DaytonaSandbox> {
    throwIfAborted(signal);
    for (let taken = this.take(); taken !== undefined; taken = this.take()) {
      this.refill();
      try {
        await taken.relabel(jobLabels(spec));
        return taken;
      } catch (err) {
        // Gone under us (Daytona stopped it, or it failed): try the next one, or a fresh sandbox.
        this.logger.warn({ err, sandboxId: taken.id }, 'a pooled sandbox could not be lent; discarding it');
        void taken.destroy().catch(() => undefined);
      }
    }
    this.refill();
    return this.opts.provider.create(spec, signal);
  }

  /** Stops filling and deletes every waiting sandbox (lent ones are their jobs'). */
  async close(): Promise<void> {
    this.closed.abort();
    clearTimeout(this.retryTimer);
    clearInterval(this.idleTimer);
    const waiting = this.waiting.splice(0);
    await Promise.all(waiting.map((w) => w.sandbox.destroy().catch((err: unknown) => this.logger.warn({ err, sandboxId: w.sandbox.id }, 'could not delete a pooled sandbox'))));
  }

  private take(): DaytonaSandbox | undefined {
    // Oldest first: it is the nearest to Daytona's auto-stop.
    return this.waiting.shift()?.sandbox;
  }

  /** Creates sandboxes until waiting + in flight reaches the size; a failure backs off before the next try. */
  private refill(): void {
    if (this.closed.signal.aborted || this.retryTimer !== undefined) return;
    while (this.waiting.length + this.filling < this.opts.size) {
      this.filling += 1;
      void this.opts.provider
        .createPooled(this.poolId, this.closed.signal)
        .then(
          async (sandbox) => {
            if (this.closed.signal.aborted) return void (await sandbox.destroy().catch(() => undefined));
            this.waiting.push({ sandbox, readyAtMs: this.now() });
            this.retryDelayMs = this.opts.retryDelayMs ?? 1_000;
          },
          (err: unknown) => {
            if (this.closed.signal.aborted) return;
            this.logger.warn({ err, retryInMs: this.retryDelayMs }, 'could not create a pooled sandbox');
            this.retryTimer = setTimeout(() => {
              this.retryTimer = undefined;
              this.refill();
            }, this.retryDelayMs);
            this.retryTimer.unref();
            this.retryDelayMs = Math.min(this.retryDelayMs * 2, 60_000);
          },
        )
        .finally(() => {
          this.filling -= 1;
        });
    }
  }

  private retireIdle(): void {
    const nowMs = this.now();
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i]!;
      if (nowMs - w.readyAtMs < this.maxIdleMs) continue;
      this.waiting.splice(i, 1);
      void w.sandbox.destroy().catch((err: unknown) => this.logger.warn({ err, sandboxId: w.sandbox.id }, 'could not delete an idle pooled sandbox'));
    }
    this.refill();
  }
}
