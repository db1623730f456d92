import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The workspace root: the nearest directory above the current one with pnpm-workspace.yaml. */
export function workspaceRoot(from = process.cwd()): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no pnpm workspace above ${from}`);
  }
}

export interface AppProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr), for assertions and for debugging a failure. */
  output(): string;
  /** Resolves when the output contains `text`; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Runs one of the apps (`api` or `worker`) as a real process, the way `pnpm start:*` does, with exactly
 * the environment given (plus PATH and HOME) so nothing from the test's own environment or a developer's
 * `.env` leaks in.
 */
export function startApp(name: 'api' | 'worker', env: Record<string, string>): AppProcess {
  const appDir = join(workspaceRoot(), 'apps', name);
  // tsx as a loader, not its CLI: one process, so `child.pid` is the app's own pid and signals reach it directly.
  const tsx = pathToFileURL(createRequire(join(appDir, 'package.json')).resolve('tsx')).href;
  const child = spawn(process.execPath, ['--import', tsx, 'src/main.ts'], {
    cwd: appDir,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? '/tmp',
      TINYB_DOTENV: 'off',
      NODE_ENV: 'production',
      // Tests run several workers on one machine: their metrics ports would collide. A test that reads a
      // worker's metrics gives it a port of its own.
      METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  return {
    name,
    child,
    output: () => output,
    waitForOutput(text, timeoutMs = 30_000) {
      const matches = () => (typeof text === 'string' ? output.includes(text) : text.test(output));
      return new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
          if (err) reject(err);
          else resolve();
        };
        const check = () => matches() && done();
        const onExit = (code: number | null) => done(new Error(`${name} exited (code ${code}) before printing ${text}:\n${output}`));
        const timer = setTimeout(() => done(new Error(`${name} did not print ${text} within ${timeoutMs} ms:\n${output}`)), timeoutMs);
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A TCP port that was free a moment ago, for a child process that must listen on a known port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 2xx. */
export async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
