import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './app-process.js';

const run = promisify(execFile);

/** A private redis-server for outage tests: it can be shut down and started again with its data. */
export interface RedisServer {
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Where its append-only file lives. */
  readonly dir: string;
  /** Whether the server is running now. */
  readonly running: boolean;
  /** `SHUTDOWN` through redis-cli, the way an operator stops it: the AOF is flushed first, so nothing written is lost. */
  stop(timeoutMs?: number): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it has replayed its AOF and accepts connections. */
  start(timeoutMs?: number): Promise<void>;
  /** SIGSTOP / SIGCONT: a Redis that keeps its connections open but answers nothing (a hung or partitioned server). */
  pause(): void;
  resume(): void;
  /** Stops it (SIGKILL if it will not) and deletes its directory. Safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Starts `redis-server` on a free loopback port with AOF on (`appendonly yes`, no RDB snapshots) in a fresh
 * temporary directory, so a test can stop Redis mid-job and bring it back with everything it had, without
 * touching the shared Redis other tests use. Needs `redis-server` and `redis-cli` on PATH.
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tinyb-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let output = '';

  const exited = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once('exit', () => resolve()));

  const start = async (timeoutMs = 10_000): Promise<void> => {
    if (child !== undefined) throw new Error('redis-server is already running');
    output = '';
    const proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--logfile', ''],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (output.includes('Ready to accept connections')) done();
      };
      const onExit = (code: number | null) => done(new Error(`redis-server exited (code ${code}) before it was ready:\n${output}`));
      const timer = setTimeout(() => done(new Error(`redis-server was not ready within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.off('exit', onExit);
        if (err) reject(err);
        else resolve();
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', onExit);
    });
    // Keep draining its log so a chatty server never blocks on a full pipe.
    proc.stdout!.resume();
    proc.stderr!.resume();
  };

  const stop = async (timeoutMs = 10_000): Promise<void> => {
    const proc = child;
    if (proc === undefined) return;
    // SHUTDOWN closes the connection without a reply, so redis-cli may report an error even when it worked.
    await run('redis-cli', ['-p', String(port), 'shutdown'], { timeout: timeoutMs }).catch(() => undefined);
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    try {
      await exited(proc);
    } finally {
      clearTimeout(timer);
    }
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    pause() {
      if (child === undefined) throw new Error('redis-server is not running');
      child.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async close() {
      const proc = child;
      if (proc !== undefined) {
        proc.kill('SIGKILL');
        await exited(proc);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
