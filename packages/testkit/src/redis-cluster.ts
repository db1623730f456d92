import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './app-process.js';

const run = promisify(execFile);

/** A private Redis Cluster of masters on loopback, for tests of the cluster mode. */
export interface RedisCluster {
  readonly ports: readonly number[];
  /** `127.0.0.1:<p1>,127.0.0.1:<p2>,…`: the value of REDIS_CLUSTER_NODES. */
  readonly nodes: string;
  /** The slot a key hashes to, as the cluster computes it (`CLUSTER KEYSLOT`). */
  keySlot(key: string): Promise<number>;
  /** `SHUTDOWN NOSAVE` on every node (SIGKILL if one will not stop) and their directories deleted. Safe to repeat. */
  close(): Promise<void>;
}

/**
 * Starts `masters` redis-servers (default 3) with cluster mode on, each on a free loopback port in its own
 * temporary directory (each writes its own nodes.conf), joins them with `redis-cli --cluster create
 * --cluster-replicas 0`, and resolves once every node reports `cluster_state:ok` (about 2 s here). No
 * persistence: a test cluster is thrown away. Needs `redis-server` and `redis-cli` on PATH.
 */
export async function startRedisCluster(opts: { masters?: number; readyTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const masters = opts.masters ?? 3;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const started: { port: number; dir: string; proc: ChildProcess }[] = [];
  const close = async (): Promise<void> => {
    const stopping = started.splice(0);
    await Promise.all(
      stopping.map(async ({ port, dir, proc }) => {
        const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', r));
        // SHUTDOWN closes the connection without a reply, so redis-cli may report an error even when it worked.
        await run('redis-cli', ['-p', String(port), 'shutdown', 'nosave'], { timeout: 5_000 }).catch(() => undefined);
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
        await rm(dir, { recursive: true, force: true });
      }),
    );
  };
  try {
    for (let i = 0; i < masters; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'tinyb-redis-cluster-'));
      const port = await freePort();
      const proc = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
          '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      started.push({ port, dir, proc });
    }
    const ports = started.map((s) => s.port);
    const deadline = Date.now() + readyTimeoutMs;
    for (const port of ports) await waitUntil(deadline, async () => (await cli(port, 'ping')) === 'PONG', `node ${port} answers PING`);
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: readyTimeoutMs,
    });
    for (const port of ports) {
      await waitUntil(deadline, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), `node ${port} reports cluster_state:ok`);
    }
    return {
      ports,
      nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
      keySlot: async (key) => Number(await cli(ports[0]!, 'cluster', 'keyslot', key)),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 });
  return stdout.trim();
}

async function waitUntil(deadline: number, check: () => Promise<boolean>, what: string): Promise<void> {
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
