import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { TinyBackspaceClient } from '@tinyb/client';
import { RedisJobEvents } from '@tinyb/events';
import type { ApiProcess } from './api-process.js';
import { BENCH_REPO_URL } from './bench-enqueue.js';

export type FanoutSystemName = 'tiny-backspace' | 'pushpin' | 'nchan';

/** One SSE fan-out server on loopback, driven the same way as the others. */
export interface FanoutSystem {
  readonly name: FanoutSystemName;
  readonly host: string;
  readonly port: number;
  readonly healthUrl: string;
  /** The server's root process: its whole process tree is measured. */
  readonly rootPid: number;
  /** `count` fresh channels (for us: jobs). */
  channels(count: number): Promise<string[]>;
  streamPath(channel: string): string;
  /** Publishes one message carrying `text` to every channel given. */
  publish(channels: readonly string[], text: string): Promise<void>;
  stop(): Promise<void>;
}

const keepAlive = new Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, body: string, contentType: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: keepAlive, headers: { 'content-type': contentType, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('could not find a free port');
  return address.port;
}

async function waitForHttp(url: string, timeoutMs: number, proc?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc && (proc.exitCode !== null || proc.signalCode !== null)) throw new Error(`${url}: server exited (code ${proc.exitCode})`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`${url} not answering within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => 'exited' as const), sleep(graceMs, 'timeout' as const)])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Our API: channels are jobs created through `POST /api/jobs`, published to as a worker does. */
export function tinyBackspaceSystem(api: ApiProcess, redis: Redis, redisPrefix: string): FanoutSystem {
  const url = new URL(api.baseUrl);
  const client = new TinyBackspaceClient({ baseUrl: api.baseUrl });
  const publisher = new RedisJobEvents({ redis, keyPrefix: redisPrefix });
  return {
    name: 'tiny-backspace',
    host: url.hostname,
    port: Number(url.port),
    healthUrl: `${api.baseUrl}/health`,
    rootPid: api.pid,
    async channels(count) {
      const ids: string[] = [];
      for (let i = 0; i < count; i += 50) {
        const batch = Math.min(50, count - i);
        ids.push(...(await Promise.all(Array.from({ length: batch }, async () => (await client.submit({ repo_url: BENCH_REPO_URL, prompt: 'bench' })).id))));
      }
      return ids;
    },
    streamPath: (jobId) => `/api/jobs/${jobId}/events`,
    async publish(channels, text) {
      await Promise.all(channels.map((id) => publisher.publish(id, { type: 'agent.message', text })));
    },
    async stop() {
      await publisher.close();
    },
  };
}

/** Debian packages the comparison needs, installed with apt-get when missing; false when they cannot be. */
export function ensureDebianPackages(log: (line: string) => void): { pushpin: boolean; nchan: boolean } {
  const has = () => ({ pushpin: existsSync('/usr/bin/pushpin'), nchan: existsSync('/usr/sbin/nginx') && existsSync('/usr/lib/nginx/modules/ngx_nchan_module.so') });
  let found = has();
  if (found.pushpin && found.nchan) return found;
  const missing = [...(found.pushpin ? [] : ['pushpin']), ...(found.nchan ? [] : ['nginx', 'libnginx-mod-nchan'])];
  log(`installing ${missing.join(' ')} with apt-get`);
  const result = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 180_000 });
  if (result.status !== 0) log(`apt-get install failed (${result.status}): ${String(result.stderr ?? '').slice(-300)}`);
  found = has();
  return found;
}

/**
 * Pushpin (Debian's, default tuning) in front of a tiny GRIP origin in this process: each stream request is
 * answered with `Grip-Hold: stream` on its channel, and messages are published to Pushpin's HTTP publish port.
 */
export async function startPushpin(): Promise<FanoutSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'tinyb-bench-pushpin-'));
  const origin: Server = createServer((req, res) => {
    if (req.url === '/health') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    const channel = /^\/stream\/([\w-]+)$/.exec(req.url ?? '')?.[1];
    if (!channel) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'grip-hold': 'stream', 'grip-channel': channel, 'cache-control': 'no-cache' });
    res.end(': open\n\n');
  });
  origin.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const originPort = (origin.address() as { port: number }).port;
  const port = await freePort();
  const publishPort = await freePort();
  const conf = readFileSync('/etc/pushpin/pushpin.conf', 'utf8')
    .replace(/^rundir=.*$/m, `rundir=${dir}/run`)
    .replace(/^logdir=.*$/m, `logdir=${dir}/log`)
    .replace(/^http_port=.*$/m, `http_port=${port}`)
    .replace(/^push_in_http_port=.*$/m, `push_in_http_port=${publishPort}`)
    .replace(/^port_offset=.*$/m, `port_offset=${publishPort % 1000}`);
  mkdirSync(`${dir}/run`);
  mkdirSync(`${dir}/log`);
  writeFileSync(`${dir}/pushpin.conf`, conf);
  writeFileSync(`${dir}/routes`, `* 127.0.0.1:${originPort}\n`);
  const child = spawn('pushpin', ['--config', `${dir}/pushpin.conf`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  const stopAll = async () => {
    await stopProcess(child);
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    origin.closeAllConnections();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, 20_000, child);
  } catch (err) {
    await stopAll();
    throw err;
  }
  let next = 0;
  return {
    name: 'pushpin',
    host: '127.0.0.1',
    port,
    healthUrl: `http://127.0.0.1:${port}/health`,
    rootPid: child.pid ?? 0,
    channels: async (count) => Array.from({ length: count }, () => `c${next++}`),
    streamPath: (channel) => `/stream/${channel}`,
    async publish(channels, text) {
      const items = channels.map((channel) => ({ channel, formats: { 'http-stream': { content: `event: message\ndata: ${text}\n\n` } } }));
      const status = await post(`http://127.0.0.1:${publishPort}/publish/`, JSON.stringify({ items }), 'application/json');
      if (status >= 300) throw new Error(`pushpin publish answered ${status}`);
    },
    stop: stopAll,
  };
}

/** nginx with the nchan module (Debian's), one worker per core, EventSource subscribers and an HTTP publisher. */
export async function startNchan(): Promise<FanoutSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'tinyb-bench-nchan-'));
  const port = await freePort();
  writeFileSync(
    `${dir}/nginx.conf`,
    `load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
worker_processes auto;
worker_rlimit_nofile 65536;
error_log ${dir}/error.log warn;
pid ${dir}/nginx.pid;
events { worker_connections 40000; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} backlog=8192;
    location = /health { return 200 "ok"; }
    location ~ ^/sub/([\\w-]+)$ { nchan_subscriber eventsource; nchan_channel_id $1; }
    location ~ ^/pub/([\\w-]+)$ { nchan_publisher; nchan_channel_id $1; }
  }
}
`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  const stopAll = async () => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, 20_000, child);
  } catch (err) {
    await stopAll();
    throw err;
  }
  let next = 0;
  return {
    name: 'nchan',
    host: '127.0.0.1',
    port,
    healthUrl: `http://127.0.0.1:${port}/health`,
    rootPid: child.pid ?? 0,
    channels: async (count) => Array.from({ length: count }, () => `c${next++}`),
    streamPath: (channel) => `/sub/${channel}`,
    async publish(channels, text) {
      await Promise.all(
        channels.map(async (channel) => {
          const status = await post(`http://127.0.0.1:${port}/pub/${channel}`, text, 'text/plain');
          if (status >= 300) throw new Error(`nchan publish answered ${status}`);
        }),
      );
    },
    stop: stopAll,
  };
}
