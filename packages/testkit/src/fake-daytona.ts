import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakeCommand, killProcessesUnder } from './fake-daytona-command.js';
import { buildMultipart, multipartBoundary, parseMultipart, type MultipartPart } from './fake-daytona-multipart.js';

export interface FakeDaytonaOptions {
  apiKey: string;
  /** Sandboxes per page of a list when the client asks for no limit; small values exercise pagination. Default 100. */
  listPageSize?: number;
  /**
   * The PATH each snapshot or image sets (its `ENV PATH`), by snapshot or image name: every command of a
   * sandbox created from it runs with it, as a real sandbox's commands run with their image's environment.
   * Default for any other: the usual system directories.
   */
  imagePaths?: Record<string, string>;
}

export interface FakeDaytonaRequest {
  method: string;
  /** Path without the query, e.g. `/api/sandbox` or `/toolbox/<id>/process/execute`. */
  path: string;
  query: Record<string, string>;
  /** Parsed JSON body; for multipart uploads `{ paths }`; otherwise undefined. */
  body?: unknown;
}

export interface FakeSandboxInfo {
  id: string;
  state: string;
  labels: Record<string, string>;
  createdAt: string;
  /** Host directory holding the sandbox's files; commands see host paths. */
  rootDir: string;
  /** The work dir (and home) reported to the SDK, inside `rootDir`. */
  homeDir: string;
  /** The JSON body of the create request (absent for planted sandboxes). */
  createRequest?: Record<string, unknown>;
  /** Commands still running in any session or execute call. */
  running: number;
}

export interface FakeFailure {
  method?: string;
  /** Matched against the request path (without query). */
  path: RegExp;
  status: number;
  message?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
}

export interface FakeDaytona {
  /** What the SDK takes as `apiUrl`, e.g. `http://127.0.0.1:PORT/api`. */
  apiUrl: string;
  apiKey: string;
  /** The live sandboxes (deleted ones are gone). */
  sandboxes(): FakeSandboxInfo[];
  /** Every request, in order. */
  requests: FakeDaytonaRequest[];
  /**
   * Every file the client uploaded, with its content, in order: with the command lines in `requests`, all
   * that a worker ever hands a sandbox (environment files included).
   */
  uploads: Array<{ sandboxId: string; path: string; content: Buffer }>;
  /** Makes the next matching request(s) answer with an error status and Daytona's error body. */
  failNext(failure: FakeFailure): void;
  /** Adds a sandbox without going through the API: a leaked one from a crashed worker, another app's, an old one. */
  plant(opts: { labels: Record<string, string>; createdAt?: Date }): Promise<FakeSandboxInfo>;
  /** Kills running commands, closes connections, removes every sandbox directory. */
  close(): Promise<void>;
}

interface SandboxRecord {
  id: string;
  state: string;
  labels: Record<string, string>;
  env: Record<string, string>;
  createdAt: string;
  rootDir: string;
  homeDir: string;
  createRequest?: Record<string, unknown>;
  sessions: Map<string, Map<string, FakeCommand>>;
  commands: Set<FakeCommand>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const stdoutMarker = Buffer.from([1, 1, 1]);
const stderrMarker = Buffer.from([2, 2, 2]);

/**
 * A stateful fake of Daytona's API and toolbox daemon, enough for the real `@daytonaio/sdk` (configured with
 * `useDeprecatedPolling: true`): sandboxes (create, get, list by labels, stop, delete), work/home dirs,
 * `process/execute`, sessions with async commands and their logs (plain and followed over a WebSocket with
 * Daytona's 0x01/0x02 stream markers), and files (bulk download/upload as multipart, list, folder,
 * permissions, delete). Commands really run on this machine with `sh -c` in a per-sandbox directory, with a
 * cleared environment (the image's PATH, HOME and the sandbox's env vars only), each in its own process group. File
 * operations are confined to the sandbox's directory (403 otherwise), which a real sandbox does not need.
 */
export async function startFakeDaytona(opts: FakeDaytonaOptions): Promise<FakeDaytona> {
  const baseDir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'tinyb-fake-daytona-')));
  const sandboxes = new Map<string, SandboxRecord>();
  const requests: FakeDaytonaRequest[] = [];
  const uploads: FakeDaytona['uploads'] = [];
  const failures: Array<FakeFailure & { left: number }> = [];
  const sockets = new Set<WebSocket>();
  let origin = '';

  const dto = (sb: SandboxRecord): Record<string, unknown> => {
    const req = sb.createRequest ?? {};
    return {
      id: sb.id,
      name: sb.id,
      organizationId: 'fake-org',
      snapshot: req['snapshot'],
      user: 'daytona',
      env: sb.env,
      labels: sb.labels,
      public: false,
      target: req['target'] ?? 'local',
      cpu: req['cpu'] ?? 1,
      gpu: 0,
      memory: req['memory'] ?? 1,
      disk: req['disk'] ?? 3,
      state: sb.state,
      desiredState: sb.state,
      autoStopInterval: req['autoStopInterval'] ?? 15,
      autoArchiveInterval: req['autoArchiveInterval'] ?? 10080,
      autoDeleteInterval: req['autoDeleteInterval'] ?? -1,
      networkBlockAll: req['networkBlockAll'] ?? false,
      networkAllowList: req['networkAllowList'],
      domainAllowList: req['domainAllowList'],
      volumes: [],
      createdAt: sb.createdAt,
      updatedAt: sb.createdAt,
      lastActivityAt: sb.createdAt,
      toolboxProxyUrl: `${origin}/toolbox`,
    };
  };

  const newSandbox = async (
    labels: Record<string, string>,
    env: Record<string, string>,
    createdAt: Date,
    createRequest?: Record<string, unknown>,
  ): Promise<SandboxRecord> => {
    const id = randomUUID();
    const rootDir = path.join(baseDir, id);
    const homeDir = path.join(rootDir, 'home', 'daytona');
    await fs.mkdir(homeDir, { recursive: true, mode: 0o700 });
    const record: SandboxRecord = {
      id,
      state: 'started',
      labels,
      env,
      createdAt: createdAt.toISOString(),
      rootDir,
      homeDir,
      ...(createRequest === undefined ? {} : { createRequest }),
      sessions: new Map(),
      commands: new Set(),
    };
    sandboxes.set(id, record);
    return record;
  };

  const killAll = async (sb: SandboxRecord): Promise<void> => {
    for (const command of sb.commands) command.kill();
    await killProcessesUnder(sb.rootDir);
  };

  const removeSandbox = async (sb: SandboxRecord): Promise<void> => {
    sb.state = 'destroyed';
    sandboxes.delete(sb.id);
    await killAll(sb);
    await Promise.race([Promise.all([...sb.commands].map((c) => c.done)), sleep(2000)]);
    await fs.rm(sb.rootDir, { recursive: true, force: true, maxRetries: 3 });
  };

  const info = (sb: SandboxRecord): FakeSandboxInfo => ({
    id: sb.id,
    state: sb.state,
    labels: { ...sb.labels },
    createdAt: sb.createdAt,
    rootDir: sb.rootDir,
    homeDir: sb.homeDir,
    ...(sb.createRequest === undefined ? {} : { createRequest: sb.createRequest }),
    running: [...sb.commands].filter((c) => c.running).length,
  });

  const mustGet = (id: string): SandboxRecord => {
    const sb = sandboxes.get(id);
    if (!sb) throw new HttpError(404, `Sandbox with ID or name ${id} not found`, 'NOT_FOUND');
    return sb;
  };

  const imagePathOf = (sb: SandboxRecord): string => {
    const source = sb.createRequest?.['snapshot'] ?? sb.createRequest?.['image'];
    return (typeof source === 'string' ? opts.imagePaths?.[source] : undefined) ?? defaultPath;
  };

  const commandEnv = (sb: SandboxRecord, extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: imagePathOf(sb),
    HOME: sb.homeDir,
    ...sb.env,
    ...extra,
  });

  const runCommand = (sb: SandboxRecord, command: string, cwd: string | undefined, env?: Record<string, string>): FakeCommand => {
    if (sb.state !== 'started') throw new HttpError(409, `sandbox ${sb.id} is ${sb.state}`, 'CONFLICT');
    const run = new FakeCommand(randomUUID(), command, { cwd: cwd ?? sb.homeDir, env: commandEnv(sb, env) });
    sb.commands.add(run);
    void run.done.then(() => sb.commands.delete(run));
    return run;
  };

  /** The host path a toolbox file operation may touch: inside the sandbox, symlinks resolved. */
  const confine = async (sb: SandboxRecord, p: string | undefined): Promise<string> => {
    if (!p) throw new HttpError(400, 'path is required', 'INVALID_FILE_PATH');
    const resolved = await realpathMissing(path.resolve(sb.homeDir, p));
    const relative = path.relative(await fs.realpath(sb.rootDir), resolved);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new HttpError(403, `access to ${p} is outside the fake sandbox`, 'FILE_ACCESS_DENIED');
    }
    return resolved;
  };

  const handleApi = async (method: string, parts: string[], query: URLSearchParams, body: unknown): Promise<[number, unknown]> => {
    // parts: ['sandbox', id?, action?]
    if (parts[0] !== 'sandbox') throw new HttpError(404, `no route ${method} /api/${parts.join('/')}`);
    const [, id, action] = parts;
    if (id === undefined) {
      if (method === 'POST') {
        const req = asRecord(body);
        const sb = await newSandbox(asStringRecord(req['labels']), asStringRecord(req['env']), new Date(), req);
        return [200, dto(sb)];
      }
      if (method === 'GET') {
        const wanted = query.get('labels') ? asStringRecord(JSON.parse(query.get('labels')!)) : {};
        const all = [...sandboxes.values()].filter((sb) => Object.entries(wanted).every(([k, v]) => sb.labels[k] === v));
        const limit = Number(query.get('limit') ?? opts.listPageSize ?? 100) || 100;
        const offset = Number(query.get('cursor') ?? 0) || 0;
        const page = all.slice(offset, offset + limit);
        const next = offset + limit < all.length ? String(offset + limit) : null;
        return [200, { items: page.map(dto), nextCursor: next }];
      }
    }
    if (id !== undefined) {
      const sb = mustGet(id);
      if (action === undefined && method === 'GET') return [200, dto(sb)];
      if (action === undefined && method === 'DELETE') {
        const answer = { ...dto(sb), state: 'destroyed' };
        await removeSandbox(sb);
        return [200, answer];
      }
      if (action === 'stop' && method === 'POST') {
        await killAll(sb);
        sb.state = 'stopped';
        return [200, dto(sb)];
      }
      if (action === 'start' && method === 'POST') {
        sb.state = 'started';
        return [200, dto(sb)];
      }
      if (action === 'toolbox-proxy-url' && method === 'GET') return [200, { url: `${origin}/toolbox` }];
      // Replaces every label, as Daytona's PUT /sandbox/{id}/labels does (a warm pool relabels a sandbox it lends).
      if (action === 'labels' && method === 'PUT') {
        sb.labels = asStringRecord(asRecord(body)['labels']);
        return [200, { labels: { ...sb.labels } }];
      }
    }
    throw new HttpError(404, `no route ${method} /api/${parts.join('/')}`);
  };

  const handleToolbox = async (
    method: string,
    sb: SandboxRecord,
    rest: string[],
    query: URLSearchParams,
    body: unknown,
    raw: Buffer,
    contentType: string | undefined,
  ): Promise<[number, unknown, Record<string, string>?]> => {
    const route = `${method} ${rest.join('/')}`;
    if (route === 'GET work-dir' || route === 'GET user-home-dir') return [200, { dir: sb.homeDir }];

    if (rest[0] === 'process') {
      if (route === 'POST process/execute') {
        const req = asRecord(body);
        const run = runCommand(sb, String(req['command'] ?? ''), optionalString(req['cwd']), asStringRecord(req['envs']));
        const timeoutSec = Number(req['timeout'] ?? 0);
        const timer = timeoutSec > 0 ? setTimeout(() => run.kill(), timeoutSec * 1000) : undefined;
        await run.done;
        if (timer) clearTimeout(timer);
        return [200, { exitCode: run.exitCode ?? -1, result: run.text() }];
      }
      if (rest[1] === 'session') {
        const [, , sessionId, sub, commandId, leaf] = rest;
        if (sessionId === undefined) {
          if (method === 'POST') {
            const id = String(asRecord(body)['sessionId'] ?? '');
            if (!id) throw new HttpError(400, 'sessionId is required');
            if (sb.sessions.has(id)) throw new HttpError(409, `session ${id} already exists`, 'CONFLICT');
            sb.sessions.set(id, new Map());
            return [201, {}];
          }
          if (method === 'GET') return [200, [...sb.sessions.keys()].map((id) => sessionDto(id, sb.sessions.get(id)!))];
        }
        if (sessionId !== undefined) {
          const session = sb.sessions.get(sessionId);
          if (!session) throw new HttpError(404, `session ${sessionId} not found`, 'NOT_FOUND');
          if (sub === undefined && method === 'GET') return [200, sessionDto(sessionId, session)];
          if (sub === undefined && method === 'DELETE') {
            for (const command of session.values()) command.kill();
            sb.sessions.delete(sessionId);
            return [204, undefined];
          }
          if (sub === 'exec' && method === 'POST') {
            const req = asRecord(body);
            const run = runCommand(sb, String(req['command'] ?? ''), undefined);
            session.set(run.id, run);
            if (req['runAsync'] === true || req['async'] === true) return [202, { cmdId: run.id }];
            await run.done;
            return [200, { cmdId: run.id, exitCode: run.exitCode, output: run.text(), stdout: run.text('stdout'), stderr: run.text('stderr') }];
          }
          if (sub === 'command' && commandId !== undefined) {
            const run = session.get(commandId);
            if (!run) throw new HttpError(404, `command ${commandId} not found`, 'NOT_FOUND');
            if (leaf === undefined && method === 'GET') return [200, commandDto(run)];
            if (leaf === 'logs' && method === 'GET') {
              return [200, { output: run.text(), stdout: run.text('stdout'), stderr: run.text('stderr') }];
            }
          }
        }
      }
    }

    if (rest[0] === 'files') {
      if (route === 'POST files/bulk-download') {
        const paths = asRecord(body)['paths'];
        const parts: MultipartPart[] = [];
        for (const p of Array.isArray(paths) ? paths.map(String) : []) {
          try {
            const file = await confine(sb, p);
            const stat = await fs.stat(file);
            if (!stat.isFile()) throw new HttpError(400, `${p} is a directory`, 'INVALID_FILE_PATH');
            parts.push({ name: 'file', filename: p, data: await fs.readFile(file) });
          } catch (err) {
            const status = err instanceof HttpError ? err.status : 404;
            const code = err instanceof HttpError ? err.code : 'FILE_NOT_FOUND';
            const message = err instanceof HttpError ? err.message : `file not found: ${p}`;
            parts.push({
              name: 'error',
              filename: p,
              contentType: 'application/json',
              data: Buffer.from(JSON.stringify({ message, statusCode: status, code, source: 'DAYTONA_DAEMON' })),
            });
          }
        }
        const boundary = `fake-${randomUUID()}`;
        return [200, buildMultipart(boundary, parts), { 'content-type': `multipart/form-data; boundary=${boundary}` }];
      }
      if (route === 'POST files/bulk-upload') {
        const boundary = multipartBoundary(contentType);
        if (!boundary) throw new HttpError(400, 'multipart body expected');
        const parts = parseMultipart(raw, boundary);
        const destinations = new Map<string, string>();
        for (const part of parts) {
          const match = /^files\[(\d+)\]\.path$/.exec(part.name);
          if (match) destinations.set(match[1]!, part.data.toString('utf8'));
        }
        for (const part of parts) {
          const match = /^files\[(\d+)\]\.file$/.exec(part.name);
          if (!match) continue;
          const destination = destinations.get(match[1]!) ?? part.filename;
          const file = await confine(sb, destination);
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.writeFile(file, part.data);
          uploads.push({ sandboxId: sb.id, path: destination ?? '', content: part.data });
        }
        return [200, undefined];
      }
      if (route === 'GET files') {
        const dir = await confine(sb, query.get('path') ?? undefined);
        const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => {
          throw new HttpError(404, `directory not found: ${query.get('path')}`, 'FILE_NOT_FOUND');
        });
        const list = await Promise.all(
          entries.map(async (e) => {
            const stat = await fs.lstat(path.join(dir, e.name));
            return {
              name: e.name,
              isDir: e.isDirectory(),
              size: stat.size,
              modTime: stat.mtime.toISOString(),
              mode: (stat.mode & 0o777).toString(8),
              permissions: (stat.mode & 0o777).toString(8),
              owner: String(stat.uid),
              group: String(stat.gid),
            };
          }),
        );
        return [200, list];
      }
      if (route === 'POST files/folder') {
        const dir = await confine(sb, query.get('path') ?? undefined);
        await fs.mkdir(dir, { recursive: true, mode: parseInt(query.get('mode') ?? '755', 8) });
        return [201, undefined];
      }
      if (route === 'POST files/permissions') {
        const file = await confine(sb, query.get('path') ?? undefined);
        const mode = query.get('mode');
        if (mode) await fs.chmod(file, parseInt(mode, 8));
        return [200, undefined];
      }
      if (route === 'DELETE files') {
        const file = await confine(sb, query.get('path') ?? undefined);
        await fs.rm(file, { recursive: query.get('recursive') === 'true', force: true });
        return [204, undefined];
      }
    }
    throw new HttpError(404, `no toolbox route ${route}`);
  };

  const takeFailure = (method: string, pathname: string): FakeFailure | undefined => {
    const index = failures.findIndex((f) => (f.method === undefined || f.method === method) && f.path.test(pathname));
    if (index < 0) return undefined;
    const failure = failures[index]!;
    failure.left -= 1;
    if (failure.left <= 0) failures.splice(index, 1);
    return failure;
  };

  const authorized = (req: http.IncomingMessage): boolean => req.headers.authorization === `Bearer ${opts.apiKey}`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const method = req.method ?? 'GET';
        const raw = Buffer.concat(chunks);
        const contentType = req.headers['content-type'];
        let body: unknown;
        if (/json/i.test(contentType ?? '') && raw.length > 0) {
          try {
            body = JSON.parse(raw.toString('utf8'));
          } catch {
            body = undefined;
          }
        }
        const recordedBody =
          body ??
          (multipartBoundary(contentType)
            ? { paths: parseMultipart(raw, multipartBoundary(contentType)!).filter((p) => p.name.endsWith('.path')).map((p) => p.data.toString()) }
            : undefined);
        requests.push({
          method,
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          ...(recordedBody === undefined ? {} : { body: recordedBody }),
        });
        try {
          if (!authorized(req)) throw new HttpError(401, 'Unauthorized', 'UNAUTHORIZED');
          const failure = takeFailure(method, url.pathname);
          if (failure) throw new HttpError(failure.status, failure.message ?? `injected failure ${failure.status}`);
          const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
          let status: number;
          let payload: unknown;
          let headers: Record<string, string> | undefined;
          if (segments[0] === 'api') {
            [status, payload] = await handleApi(method, segments.slice(1), url.searchParams, body);
          } else if (segments[0] === 'toolbox' && segments[1] !== undefined) {
            const sb = mustGet(segments[1]);
            [status, payload, headers] = await handleToolbox(method, sb, segments.slice(2), url.searchParams, body, raw, contentType);
          } else {
            throw new HttpError(404, `no route ${method} ${url.pathname}`);
          }
          if (Buffer.isBuffer(payload)) {
            res.writeHead(status, { 'content-length': payload.length, ...headers });
            res.end(payload);
          } else if (payload === undefined) {
            res.writeHead(status).end();
          } else {
            const text = JSON.stringify(payload);
            res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
          }
        } catch (err) {
          const status = err instanceof HttpError ? err.status : 500;
          const message = err instanceof Error ? err.message : String(err);
          const code = err instanceof HttpError ? err.code : undefined;
          res
            .writeHead(status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ statusCode: status, message, error: http.STATUS_CODES[status], ...(code ? { code } : {}) }));
        }
      })();
    });
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({ method: 'WS', path: url.pathname, query: Object.fromEntries(url.searchParams) });
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // toolbox/<id>/process/session/<sid>/command/<cid>/logs
    const [root, id, p1, p2, sid, p3, cid, leaf] = segments;
    const run =
      root === 'toolbox' && p1 === 'process' && p2 === 'session' && p3 === 'command' && leaf === 'logs'
        ? sandboxes.get(id ?? '')?.sessions.get(sid ?? '')?.get(cid ?? '')
        : undefined;
    if (!authorized(req) || !run) {
      socket.end(`HTTP/1.1 ${authorized(req) ? 404 : 401} ${authorized(req) ? 'Not Found' : 'Unauthorized'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      const unsubscribe = run.follow((chunk) => {
        if (ws.readyState !== ws.OPEN) return;
        if (chunk === null) {
          ws.close(1000);
          return;
        }
        ws.send(Buffer.concat([chunk.stream === 'stdout' ? stdoutMarker : stderrMarker, chunk.data]));
      });
      ws.on('close', unsubscribe);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${origin}/api`,
    apiKey: opts.apiKey,
    requests,
    uploads,
    sandboxes: () => [...sandboxes.values()].map(info),
    failNext: (failure) => failures.push({ ...failure, left: failure.times ?? 1 }),
    plant: async ({ labels, createdAt }) => info(await newSandbox(labels, {}, createdAt ?? new Date())),
    close: async () => {
      for (const ws of sockets) ws.terminate();
      await Promise.all([...sandboxes.values()].map((sb) => removeSandbox(sb)));
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
    },
  };
}

function sessionDto(sessionId: string, commands: Map<string, FakeCommand>): Record<string, unknown> {
  return { sessionId, commands: [...commands.values()].map(commandDto) };
}

function commandDto(run: FakeCommand): Record<string, unknown> {
  return { id: run.id, command: run.command, ...(run.exitCode === undefined || run.running ? {} : { exitCode: run.exitCode }) };
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asStringRecord(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(asRecord(value)).map(([k, v]) => [k, String(v)]));
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `realpath` that tolerates missing trailing components (like `realpath -m`). */
async function realpathMissing(p: string): Promise<string> {
  try {
    return await fs.realpath(p);
  } catch {
    const parent = path.dirname(p);
    if (parent === p) return p;
    return path.join(await realpathMissing(parent), path.basename(p));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
