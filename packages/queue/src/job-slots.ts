/**
 * A process's job slots, shared by its BullMQ Workers (one per agent queue), so that `concurrency` bounds the
 * jobs the process runs at once whatever queues they come from. Waiters are served in order; `close()`
 * answers every waiter (and every later caller) with false, so a closing Worker is never left waiting.
 */
export class JobSlots {
  private free: number;
  private readonly waiters: ((granted: boolean) => void)[] = [];
  private closed = false;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error('job slots: size must be a positive integer');
    this.free = size;
  }

  /** Resolves true once a slot is this caller's (give it back with `release`), false once closed. */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.free > 0) {
      this.free -= 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true);
    else this.free = Math.min(this.size, this.free + 1);
  }

  get inUse(): number {
    return this.size - this.free;
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }
}
