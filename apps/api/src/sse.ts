import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { FanoutSink } from '@tinyb/events';

/** Every event stream's headers but Connection (the legacy stream is chunked and kept alive, the fan-out's closes). */
const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
};
/** The stream's first bytes: how long a browser's EventSource waits before it reconnects. */
const retryFrame = (retryMs = 3000) => `retry: ${retryMs}\n\n`;

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
  res.status(200).set({ ...SSE_HEADERS, Connection: 'keep-alive' });
  res.flushHeaders();
  req.socket.setNoDelay(true);
  res.write(retryFrame(opts.retryMs));

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

export interface SseSinkOptions {
  retryMs?: number;
  /** Unsent bytes a client may have queued before it is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
  /** More response headers. */
  headers?: Record<string, string>;
}

/**
 * A bare node:http response turned into a byte sink for the fan-out. The response is delimited by the
 * connection's close (no chunked encoding), so a frame shared by every client of a job goes to each socket
 * as the same bytes, with no per-client framing or copy. A client whose unsent bytes pass the budget is
 * closed, not buffered for without bound. Heartbeats are the fan-out's (one timer per process), not one
 * timer per stream. Nothing else is kept per stream: an open stream costs its socket and the HTTP objects.
 */
export function openSseSink(res: ServerResponse, opts: SseSinkOptions): FanoutSink {
  res.useChunkedEncodingByDefault = false;
  // Neither Content-Length nor chunked: the body ends when the connection does, which an event stream's always does.
  res.writeHead(200, { ...SSE_HEADERS, Connection: 'close', ...opts.headers });
  res.write(retryFrame(opts.retryMs));
  const socket = res.socket!;
  socket.setNoDelay(true);
  return {
    write(chunk) {
      if (socket.destroyed) return true;
      if (socket.writableLength > opts.maxBufferedBytes) return false;
      socket.write(chunk);
      return true;
    },
    end(reason) {
      if (reason === 'too-slow') socket.destroy();
      else res.end();
    },
  };
}

/** An event's SSE frame, built once and shared by every client of its job. */
export function encodeSseFrame({ id, event }: { id: string; event: { type: string } }): Buffer {
  return Buffer.from(`id: ${id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}
