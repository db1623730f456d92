/** Blocks this process's event loop for `ms` (a busy loop), as a fan-out without slices or a long GC would. */
export function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}
