import type { Writable } from 'node:stream';

/**
 * Holds a socket's writes until the end of the current turn of the event loop, then sends them together.
 *
 * ioredis writes each command (and each pipeline) with its own `socket.write`, one syscall each. Under load
 * an API process reads many requests in one turn (one poll phase), so it enqueues many jobs per turn: corked,
 * their enqueue scripts leave in one `writev`. Each is still its own script, so each submit stays atomic on
 * its own; the replies come back in order, as ioredis expects. The socket is uncorked in
 * `setImmediate` (the check phase, right after the poll phase), so no write waits for a later turn.
 */
export class TurnWriteBatch {
  private corked: Writable | undefined;

  /** Call before writing to `socket`: its writes until the end of this turn leave together. */
  hold(socket: Writable): void {
    if (this.corked === socket) return;
    // Another connection (a reconnect made a new socket): release the old one's writes now.
    this.release();
    this.corked = socket;
    socket.cork();
    setImmediate(() => {
      if (this.corked === socket) this.release();
    });
  }

  private release(): void {
    const socket = this.corked;
    this.corked = undefined;
    socket?.uncork();
  }
}
