import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The environment every git process of the fake runs with: the caller's PATH only, no user or system
 * config (a developer's ~/.gitconfig must not change what the fake stores), fixed identity and C locale.
 */
export function fakeGitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: '/nonexistent',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Fake GitHub',
    GIT_AUTHOR_EMAIL: 'noreply@fake-github.test',
    GIT_COMMITTER_NAME: 'Fake GitHub',
    GIT_COMMITTER_EMAIL: 'noreply@fake-github.test',
    ...extra,
  };
}

export class FakeGitError extends Error {
  override readonly name = 'FakeGitError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} exited with ${String(exitCode)}: ${stderr.trim()}`);
  }
}

/** Runs `git <args>` against a bare repository and resolves with its stdout; rejects on a non-zero exit. */
export function runGit(
  gitDir: string,
  args: readonly string[],
  opts: { input?: Uint8Array | string; env?: Record<string, string> } = {},
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      env: fakeGitEnv({ GIT_DIR: gitDir, ...opts.env }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new FakeGitError(args, code, Buffer.concat(err).toString('utf8')));
    });
    // EPIPE when git exits before reading its input is reported through 'close' with the real cause.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** `runGit` with stdout as one trimmed line. */
export async function gitLine(gitDir: string, args: readonly string[], opts?: { input?: Uint8Array | string; env?: Record<string, string> }): Promise<string> {
  return (await runGit(gitDir, args, opts)).toString('utf8').trim();
}

/** Whether `sha` names an object of `type` in the repository. */
export async function objectHasType(gitDir: string, sha: string, type: 'blob' | 'tree' | 'commit'): Promise<boolean> {
  if (!/^[0-9a-f]{40}$/.test(sha)) return false;
  try {
    return (await gitLine(gitDir, ['cat-file', '-t', sha])) === type;
  } catch {
    return false;
  }
}

/**
 * Serves one smart-HTTP request through the system's `git http-backend` CGI. The request body is piped
 * to the CGI's stdin (git may gzip it; http-backend inflates it itself when told the encoding), and the
 * CGI's response, which is small for the repositories tests use, is buffered to split off its headers.
 */
export function serveGitHttpBackend(
  req: IncomingMessage,
  res: ServerResponse,
  opts: { projectRoot: string; pathInfo: string; queryString: string; remoteUser?: string },
): Promise<number> {
  return new Promise((resolve) => {
    const env = fakeGitEnv({
      GIT_PROJECT_ROOT: opts.projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: opts.pathInfo,
      QUERY_STRING: opts.queryString,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    });
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) env.CONTENT_TYPE = contentType;
    // Without CONTENT_LENGTH http-backend reads to EOF, which is what a chunked request needs.
    const contentLength = req.headers['content-length'];
    if (contentLength !== undefined) env.CONTENT_LENGTH = contentLength;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined) env.HTTP_CONTENT_ENCODING = encoding;
    const protocol = req.headers['git-protocol'];
    if (typeof protocol === 'string') env.GIT_PROTOCOL = protocol;
    if (opts.remoteUser !== undefined) env.REMOTE_USER = opts.remoteUser;

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', () => {});
    req.pipe(child.stdin);

    const fail = (detail: string): void => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend failed: ${detail}\n`);
      } else {
        res.destroy();
      }
      resolve(500);
    };
    child.on('error', (e) => fail(e.message));
    child.on('close', (code) => {
      const raw = Buffer.concat(out);
      const parsed = parseCgiResponse(raw);
      if (parsed === undefined) {
        fail(`exit ${String(code)}: ${Buffer.concat(err).toString('utf8').trim()}`);
        return;
      }
      res.writeHead(parsed.status, parsed.headers);
      res.end(parsed.body);
      resolve(parsed.status);
    });
  });
}

/** Splits a CGI response into status, headers and body; `undefined` when there is no header block. */
export function parseCgiResponse(raw: Buffer): { status: number; headers: Record<string, string>; body: Buffer } | undefined {
  let end = raw.indexOf('\r\n\r\n');
  let sepLength = 4;
  const lfEnd = raw.indexOf('\n\n');
  if (end === -1 || (lfEnd !== -1 && lfEnd < end)) {
    end = lfEnd;
    sepLength = 2;
  }
  if (end === -1) return undefined;
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of raw.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers, body: raw.subarray(end + sepLength) };
}
