import { connect, type Socket } from 'node:net';

/**
 * A keep-alive HTTP/1.1 client on raw sockets, for load generation: each request is one pre-serialized write,
 * each answer is read by its status line and Content-Length, and nothing else is parsed or allocated. The
 * load generator shares the machine with the server it measures, so it has to cost much less per request
 * than the server does (node:http's client costs about as much as the API's whole submit, which capped the
 * enqueue figures at the generator's speed, not the API's). One request at a time per connection, no
 * pipelining: `connections` is the concurrency. Answers without a Content-Length are not supported (the
 * API's JSON answers always carry one).
 */
export class RawHttpClient {
  private readonly idle: Connection[] = [];
  private readonly all: Connection[] = [];
  private readonly waiting: Array<(c: Connection) => void> = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly maxConnections: number,
  ) {}

  /** Sends `head` (the request line and headers, without the final CRLF) and `body`; resolves with the status. */
  async request(head: string, body: string): Promise<number> {
    const connection = await this.take();
    try {
      return await connection.send(`${head}\r\nhost: ${this.host}:${this.port}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    } finally {
      this.give(connection);
    }
  }

  close(): void {
    for (const c of this.all) c.socket.destroy();
  }

  private take(): Promise<Connection> {
    const connection = this.idle.pop();
    if (connection !== undefined) return Promise.resolve(connection);
    if (this.all.length < this.maxConnections) {
      const created = new Connection(connect({ host: this.host, port: this.port }));
      this.all.push(created);
      return Promise.resolve(created);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private give(connection: Connection): void {
    if (connection.socket.destroyed) {
      this.all.splice(this.all.indexOf(connection), 1);
      const next = this.waiting.shift();
      if (next !== undefined) void this.take().then(next);
      return;
    }
    const next = this.waiting.shift();
    if (next !== undefined) next(connection);
    else this.idle.push(connection);
  }
}

class Connection {
  private buffer = '';
  private pending: { resolve: (status: number) => void; reject: (err: Error) => void } | undefined;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  send(request: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request, 'latin1');
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    const headEnd = this.buffer.indexOf('\r\n\r\n');
    if (headEnd < 0 || this.pending === undefined) return;
    const head = this.buffer.slice(0, headEnd);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < headEnd + 4 + length) return;
    this.buffer = this.buffer.slice(headEnd + 4 + length);
    const { resolve } = this.pending;
    this.pending = undefined;
    resolve(Number(head.slice(9, 12)));
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(err);
  }
}
