import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ApiProcess {
  readonly baseUrl: string;
  readonly pid: number;
  /** Resident set size of the API process in MB (Linux /proc), undefined elsewhere. */
  rssMb(): number | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartApiOptions {
  redisUrl: string;
  redisPrefix: string;
  readyTimeoutMs?: number;
  /**
   * API_PROCESSES: runs `src/start.ts` (the cluster supervisor, whose tree holds every API process) instead of
   * `src/main.ts` (one process). Absent: one process, as before.
   */
  processes?: number;
  /** More settings for the API (e.g. SSE_SHED_LAG_MS). */
  env?: Record<string, string>;
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs the real API (`apps/api/src/main.ts`) as a child process on a free loopback port and waits for
 * `/ready`. It runs as `node --import tsx main.ts` rather than through the `tsx` CLI: same loader, but
 * the CLI would put a wrapper process in between and the RSS read here would be the wrapper's.
 */
export async function startApi(opts: StartApiOptions): Promise<ApiProcess> {
  const port = await freePort();
  const entry = opts.processes === undefined ? 'src/main.ts' : 'src/start.ts';
  // BENCH_CPU_PROF=<dir>: the API writes a V8 CPU profile there when it exits (see bench/README.md, profiles).
  const profile = process.env['BENCH_CPU_PROF'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_CPU_PROF']] : [];
  const child = spawn(process.execPath, [...profile, '--import', import.meta.resolve('tsx'), entry], {
    cwd: `${repoRoot}apps/api`,
    // Only what the API needs: an API_TOKEN or other setting from the caller's shell must not leak in.
    env: {
      PATH: process.env['PATH'] ?? '',
      HOME: process.env['HOME'] ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: opts.redisUrl,
      REDIS_PREFIX: opts.redisPrefix,
      TINYB_DOTENV: 'off',
      LOG_LEVEL: 'warn',
      GITHUB_URL: 'https://github.com',
      NODE_ENV: 'production',
      ...(opts.processes === undefined ? {} : { API_PROCESSES: String(opts.processes) }),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // stdout is the benchmark's JSON document: the API's own output goes to stderr.
  child.stdout.pipe(process.stderr);
  child.stderr.pipe(process.stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn the API process');

  const baseUrl = `http://127.0.0.1:${port}`;
  const api: ApiProcess = {
    baseUrl,
    pid,
    rssMb: () => readRssMb(pid),
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = sleep(graceMs, 'timeout' as const);
      if ((await Promise.race([exited, timer])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`API process exited before it was ready (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    const ready = await fetch(`${baseUrl}/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (res) => res.ok,
      () => false,
    );
    if (ready) return api;
    if (Date.now() > deadline) {
      await api.stop();
      throw new Error(`API not ready within ${opts.readyTimeoutMs ?? 20_000} ms`);
    }
    await sleep(100);
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('could not find a free port');
  return address.port;
}

function readRssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round((Number(kb) / 1024) * 10) / 10;
  } catch {
    return undefined;
  }
}
