import type { Request, Response } from 'express';

export interface SseStream {
  /** Writes one frame; waits while the client is slow to read, so a stalled client never piles up memory. */
  send(frame: { id?: string; event?: string; data: unknown }): Promise<void>;
  end(): void;
  /** Aborted when the client goes away. */
  readonly signal: AbortSignal;
}

/**
 * Turns a response into a Server-Sent Events stream with heartbeat comments, so proxies and load
 * balancers keep an idle connection open.
 */
export function openSse(req: Request, res: Response, opts: { heartbeatMs: number; retryMs?: number }): SseStream {
  const controller = new AbortController();
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  res.write(`retry: ${opts.retryMs ?? 3000}\n\n`);

  const heartbeat = setInterval(() => res.write(': ping\n\n'), opts.heartbeatMs);
  const close = () => {
    clearInterval(heartbeat);
    controller.abort();
  };
  res.on('close', close);

  return {
    signal: controller.signal,
    async send({ id, event, data }) {
      if (controller.signal.aborted) return;
      let frame = '';
      if (id !== undefined) frame += `id: ${id}\n`;
      if (event !== undefined) frame += `event: ${event}\n`;
      frame += `data: ${JSON.stringify(data)}\n\n`;
      if (!res.write(frame)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            controller.signal.removeEventListener('abort', done);
            resolve();
          };
          res.on('drain', done);
          controller.signal.addEventListener('abort', done);
        });
      }
    },
    end() {
      close();
      res.end();
    },
  };
}
