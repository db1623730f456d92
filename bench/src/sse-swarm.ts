import { connect, type Socket } from 'node:net';

export interface SwarmTarget {
  host: string;
  port: number;
  /** Path of each client's stream; `i` is the client's index. */
  path(i: number): string;
}

export interface SwarmStats {
  /** Clients whose response headers arrived (status 200). */
  connected: number;
  /** Clients still open at the time of the call. */
  open: number;
  /** Connections that failed, were refused a 200, or closed before the end. */
  failed: number;
  /** Statuses other than 200 seen (e.g. 503 from shedding, then retried), by status. */
  refusals: Record<string, number>;
}

const STAMP = /seq=(\d+) sentAt=([\d.]+)/g;
/** Loopback source addresses used in turn, so 10k+ connections to one port never run out of ephemeral ports. */
const SOURCE_ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/**
 * C SSE clients on raw sockets in this process: no fetch, no EventSource, no per-event parsing beyond
 * finding the `seq=… sentAt=…` stamps each published event carries. The load generator has to stay
 * cheaper than the servers it measures, or it measures itself (the profile of nchan at 10k was bounded by a
 * heavier generator). Each client keeps the set of sequence numbers it saw, so losses and duplicates count.
 */
export class SseSwarm {
  readonly latencies: number[] = [];
  private readonly sockets: Socket[] = [];
  private readonly seen: Array<Set<number>> = [];
  private connectedCount = 0;
  private failedCount = 0;
  private readonly refusals: Record<string, number> = {};
  private closing = false;
  private lastReceivedAt = 0;
  private firstReceivedAt = Number.POSITIVE_INFINITY;

  constructor(private readonly target: SwarmTarget) {}

  /** Opens `count` clients, at most `inFlight` handshakes at a time; resolves when every one answered or failed. */
  async open(count: number, inFlight = 500): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < count) await this.openOne(next++);
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  }

  /**
   * Opens client `i`; a refusal (503 with Retry-After, or 502) is retried after its Retry-After (502: 1 s), as
   * the CLI and the console do, up to 5 times.
   */
  private async openOne(i: number): Promise<void> {
    const seen = new Set<number>();
    this.seen[i] = seen;
    for (let attempt = 0; ; attempt++) {
      const retryAfterSec = await this.connectOnce(i, seen);
      if (retryAfterSec === undefined || attempt >= 5 || this.closing) return;
      await new Promise((resolve) => setTimeout(resolve, retryAfterSec * 1000));
    }
  }

  /** Resolves when the headers are in (or the connection failed): with the Retry-After of a 503, else undefined. */
  private connectOnce(i: number, seen: Set<number>): Promise<number | undefined> {
    return new Promise((resolve) => {
      const socket = connect({ host: this.target.host, port: this.target.port, localAddress: SOURCE_ADDRESSES[i % SOURCE_ADDRESSES.length] });
      this.sockets[i] = socket;
      socket.setEncoding('latin1');
      let headerDone = false;
      let carry = '';
      let settled = false;
      const settle = (retryAfterSec?: number) => {
        if (!settled) {
          settled = true;
          resolve(retryAfterSec);
        }
      };
      socket.on('connect', () => {
        socket.write(`GET ${this.target.path(i)} HTTP/1.1\r\nHost: ${this.target.host}\r\nAccept: text/event-stream\r\n\r\n`);
      });
      socket.on('data', (chunk: string) => {
        let text = carry + chunk;
        if (!headerDone) {
          const end = text.indexOf('\r\n\r\n');
          if (end < 0) {
            carry = text;
            return;
          }
          const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? '???';
          headerDone = true;
          if (status !== '200') {
            this.refusals[status] = (this.refusals[status] ?? 0) + 1;
            socket.destroy();
            // Every system's refusals get the same retries: 503 after its Retry-After (our shedding), 502 after
            // 1 s (Pushpin answers a connect burst past its internal queue to its HTTP client with 502).
            const retryAfter = /\r\nretry-after: *(\d+)/i.exec(text)?.[1];
            if (status === '503' && retryAfter !== undefined) return settle(Number(retryAfter));
            if (status === '502') return settle(1);
            this.failedCount++;
            settle();
            return;
          }
          this.connectedCount++;
          settle();
          text = text.slice(end + 4);
        }
        // Stamps never span a frame boundary; keep the unfinished tail of the last frame for the next chunk.
        const boundary = text.lastIndexOf('\n\n');
        carry = boundary < 0 ? text : text.slice(boundary + 2);
        if (boundary < 0) return;
        const now = performance.now();
        const complete = text.slice(0, boundary);
        STAMP.lastIndex = 0;
        for (let m = STAMP.exec(complete); m !== null; m = STAMP.exec(complete)) {
          const seq = Number(m[1]);
          if (seen.has(seq)) continue;
          seen.add(seq);
          this.latencies.push(now - Number(m[2]));
          this.lastReceivedAt = now;
          if (now < this.firstReceivedAt) this.firstReceivedAt = now;
        }
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        if (!this.closing && !settled) this.failedCount++;
        settle();
      });
    });
  }

  stats(): SwarmStats {
    return {
      connected: this.connectedCount,
      open: this.sockets.filter((s) => s !== undefined && !s.destroyed).length,
      failed: this.failedCount,
      refusals: { ...this.refusals },
    };
  }

  /** Deliveries received so far (each client's distinct sequence numbers). */
  get delivered(): number {
    return this.latencies.length;
  }

  /** Seconds between the first and the last delivery. */
  get deliverySpanSec(): number {
    return Math.max(0.001, (this.lastReceivedAt - this.firstReceivedAt) / 1000);
  }

  close(): void {
    this.closing = true;
    for (const socket of this.sockets) socket?.destroy();
  }
}
