/**
 * A level-triggered wake-up for one follower. A notification that arrives while the follower is busy
 * (reading history, or suspended at `yield`) is remembered, so the next `wait` returns at once: no
 * notification can fall between a read and the following wait.
 */
export class Wakeup {
  private pending = false;
  private release: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    this.release?.();
  }

  /** Resolves on a notification (or one already pending), after `timeoutMs` when given, or when any signal aborts. */
  wait(timeoutMs: number | undefined, signals: readonly AbortSignal[]): Promise<void> {
    if (this.pending || signals.some((s) => s.aborted)) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        for (const s of signals) s.removeEventListener('abort', done);
        this.release = undefined;
        this.pending = false;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      for (const s of signals) s.addEventListener('abort', done, { once: true });
      this.release = done;
    });
  }
}
