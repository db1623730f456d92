import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * The mechanics the scripted model APIs (fake-anthropic, fake-gemini, fake-openai) share: an HTTP server on a
 * free loopback port and on a Unix socket (what a sealed bwrap sandbox can be given), bodies read whole and parsed, JSON and server-sent-event replies, and the scenario scripts
 * they all play. Each fake keeps its own routes, key check, wire format and scenario table.
 */

/** One request as a fake sees it, once its body has arrived. */
export interface ModelRequest {
  method: string;
  /** Path with query, as sent. */
  url: string;
  /** Path without query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, so tests can search it for strings that must never reach the model. */
  rawBody: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: unknown;
  /** `Date.now()` once the whole body has arrived. */
  receivedAt: number;
}

/** What every fake records of a model request, in arrival order. */
export interface RecordedModelRequest {
  method: string;
  /** Path with query, as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw body, so tests can search it for strings that must never reach the model. */
  rawBody: string;
  body: unknown;
  /** The scenario the request's tag picked. */
  scenario: string;
}

/** A started fake model API, as tests see it. */
export interface FakeModelApi<Recorded extends RecordedModelRequest> {
  /** The base URL to give the client (the fake's doc says which variable). */
  url: string;
  apiKey: string;
  /**
   * For a sealed sandbox (`LocalSandboxProvider`'s `network.forwards`): the fake's Unix socket, relayed to the
   * sandbox's own 127.0.0.1 on the same port as `url`'s, so that `url` works inside the sandbox as on the host.
   */
  sandboxForward: { port: number; hostSocketPath: string };
  requests: Recorded[];
  close(): Promise<void>;
}

export interface FakeModelServer {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  origin: string;
  /** The same server on a Unix socket, with the TCP port to show it at inside a sandbox. */
  sandboxForward: { port: number; hostSocketPath: string };
  /** Drops open connections (a CLI may keep one alive) and stops listening. */
  close(): Promise<void>;
}

export async function startFakeModelServer(name: string, handle: (req: ModelRequest, res: ServerResponse) => void): Promise<FakeModelServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const receivedAt = Date.now();
      const url = req.url ?? '';
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = undefined;
      }
      handle({ method: req.method ?? '', url, path: (url || '/').split('?')[0] ?? '/', headers: req.headers, rawBody, body, receivedAt }, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`${name}: server has no TCP address`);
  // Connections on the socket are handed to the same HTTP server: one handler, one set of open connections.
  const socketDir = mkdtempSync(path.join(tmpdir(), `tinyb-${name}-`));
  const hostSocketPath = path.join(socketDir, 'model.sock');
  const socketServer = createNetServer((socket) => server.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    socketServer.once('error', reject);
    socketServer.listen(hostSocketPath, () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${address.port}`,
    sandboxForward: { port: address.port, hostSocketPath },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        socketServer.close();
        server.close(() => {
          rmSync(socketDir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(payload));
}

/** Starts a 200 `text/event-stream` reply; write it with `writeEvent`, then `res.end()`. */
export function startEventStream(res: ServerResponse, headers: OutgoingHttpHeaders = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
}

/** One server-sent event: `data` is written as is (JSON, or a sentinel such as `[DONE]`). */
export function writeEvent(res: ServerResponse, data: string, event?: string): void {
  res.write(`${event === undefined ? '' : `event: ${event}\n`}data: ${data}\n\n`);
}

/** A scenario that answers with turns: a script (the next turn chosen by how many tool calls the conversation already answered), or a loop that never ends. */
export type ScriptedScenario<Turn, Input> =
  | { kind: 'script'; turns: (input: Input) => Turn[] }
  | { kind: 'forever'; turn: (input: Input, n: number) => Turn };

/** A fake's scenarios: scripted ones, or an HTTP error carrying the fake's own error fields. */
export type ModelScenario<Turn, Input, ErrorFields> = ScriptedScenario<Turn, Input> | ({ kind: 'error'; status: number } & ErrorFields);

/**
 * The turn that follows `done` answered tool calls: in a script, the first turn whose earlier turns made at least
 * that many (a turn may make several), or the last one once the script is played out.
 */
export function turnAfter<Turn, Input>(scenario: ScriptedScenario<Turn, Input>, input: Input, done: number, callsIn: (turn: Turn) => number): Turn | undefined {
  if (scenario.kind === 'forever') return scenario.turn(input, done);
  const turns = scenario.turns(input);
  let calls = 0;
  for (const turn of turns) {
    if (calls >= done) return turn;
    calls += callsIn(turn);
  }
  return turns.at(-1);
}

/** The first `[scenario:NAME]` tag in `texts` (the user's own words only: tool output may echo tags), else `write`. */
export function scenarioIn(texts: Iterable<string>): string {
  for (const text of texts) {
    const m = /\[scenario:([a-z0-9-]+)\]/.exec(text);
    if (m?.[1]) return m[1];
  }
  return 'write';
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Text of a message's content, whether a string or an array of `{ type: 'text', text }` blocks. */
export function textsOf(content: unknown): string[] {
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content.flatMap((b) => (isRecord(b) && b.type === 'text' && typeof b.text === 'string' ? [b.text] : []));
}
