import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { TinyBackspaceClient } from '@tinyb/client';
import { RedisJobEvents } from '@tinyb/events';
import type { ApiProcess } from './api-process.js';
import { processTree } from './proc-tree.js';
import type { ControlProbe } from './control-prober.js';
import { BENCH_REPO_URL } from './bench-enqueue.js';

/** Every system the fanout section can run, in the order it runs them. */
export const FANOUT_SYSTEM_NAMES = ['tiny-backspace', 'pushpin', 'nchan'] as const;
export type FanoutSystemName = (typeof FANOUT_SYSTEM_NAMES)[number];

/** One SSE fan-out server on loopback, driven the same way as the others. */
export interface FanoutSystem {
  readonly name: FanoutSystemName;
  readonly host: string;
  readonly port: number;
  /**
   * What is probed while events go out: every system's `/health` (a liveness probe), and for ours the other
   * control routes issue 11 names (`/ready`, a job's status, a submit), which must stay as fast.
   */
  controlProbes(channels: readonly string[]): ControlProbe[];
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

/**
 * Stops a supervisor that runs its workers in process groups of their own (Pushpin's runner does), so neither a
 * group signal nor the supervisor's exit is enough: SIGTERM to the supervisor (it stops its workers), then
 * SIGKILL to whatever is left of its tree and of `extraPids` (workers whose pid files the supervisor wrote).
 */
async function stopProcessTree(child: ChildProcess, extraPids: () => number[], graceMs = 5_000): Promise<void> {
  const rootPid = child.pid;
  if (rootPid === undefined) return;
  const pids = [...new Set([...processTree(rootPid).slice(1), ...extraPids()])];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    } catch {
      return false;
    }
  };
  await stopProcess(child, graceMs);
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
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
    controlProbes: (channels) => [
      { name: 'health', url: `${api.baseUrl}/health` },
      { name: 'ready', url: `${api.baseUrl}/ready` },
      { name: 'status', url: `${api.baseUrl}/api/jobs/${channels[0]}` },
      { name: 'submit', url: `${api.baseUrl}/api/jobs`, method: 'POST', body: JSON.stringify({ repo_url: BENCH_REPO_URL, prompt: 'bench: a submit while the fan-out runs' }) },
    ],
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
  const aptGet = (...args: string[]) =>
    spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 180_000 });
  let result = aptGet('install', '-y', '--no-install-recommends', ...missing);
  if (result.status !== 0) {
    // A fresh machine's package lists may be empty or stale: refresh them once and try again.
    aptGet('update');
    result = aptGet('install', '-y', '--no-install-recommends', ...missing);
  }
  if (result.status !== 0) log(`apt-get install failed (${result.status}): ${String(result.stderr ?? '').slice(-300)}`);
  found = has();
  return found;
}

/**
 * Sets `key=value` in `[section]` of an INI text: replaces the key's line there, or adds it under the header.
 * Throws when the section is missing, so a changed Debian file fails loudly instead of running half-configured.
 */
function setIniKey(ini: string, section: string, key: string, value: string): string {
  const header = `[${section}]\n`;
  const at = ini.indexOf(header);
  if (at < 0) throw new Error(`no [${section}] section`);
  const bodyStart = at + header.length;
  const nextHeader = ini.slice(bodyStart).search(/^\[/m);
  const bodyEnd = nextHeader < 0 ? ini.length : bodyStart + nextHeader;
  const body = ini.slice(bodyStart, bodyEnd);
  const line = new RegExp(`^${key}=.*$`, 'm');
  const newBody = line.test(body) ? body.replace(line, `${key}=${value}`) : `${key}=${value}\n${body}`;
  return ini.slice(0, bodyStart) + newBody + ini.slice(bodyEnd);
}

/** Pids from the `*.pid` files a supervisor wrote into `runDir`. */
function workerPids(runDir: string): number[] {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir)
    .filter((file) => file.endsWith('.pid'))
    .map((file) => Number.parseInt(readFileSync(join(runDir, file), 'utf8'), 10))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

/** The last lines of every log in `logDir`, for a note that says why Pushpin did not come up. */
function logTails(logDir: string, lines = 4): string {
  if (!existsSync(logDir)) return '';
  return readdirSync(logDir)
    .map((file) => `${file}: ${readFileSync(join(logDir, file), 'utf8').trim().split('\n').slice(-lines).join(' | ')}`)
    .join('; ');
}

/**
 * Pushpin (Debian's 1.36) in front of a tiny GRIP origin in this process: each stream request is answered with
 * `Grip-Hold: stream` on its channel, and messages are published to the handler's HTTP publish port.
 *
 * The config is Debian's pushpin.conf with these changes, each needed here:
 * - `zurl` among the runner's services, and the proxy's zurl specs in our rundir. Debian's internal.conf points
 *   the proxy at the system zurl daemon (/var/run/zurl), which is not running here; without a zurl the proxy
 *   answers every request with "error" and nothing, not even /health, reaches the origin.
 * - `port_offset=0` and the handler's ZeroMQ endpoints on ipc sockets in the rundir: the offset is also added to
 *   the HTTP publish port, and the default TCP endpoints (5560-5563) are fixed ports that another run may hold.
 * - `message_rate`/`message_hwm` raised: the handler paces every delivery to every held stream through them
 *   (default 2,500 deliveries/s, dropping past 25,000 queued), which 1,000 clients at 10 events/s already exceed.
 * - `client_maxconn` above the largest client count; the fd limit is raised before exec (inherited by all).
 * - warnings only in the logs (the default logs every request and publish), like nchan's `error_log warn`.
 */
export async function startPushpin(): Promise<FanoutSystem> {
  // Short on purpose: ZeroMQ ipc endpoints are Unix socket paths (at most 107 bytes).
  const dir = mkdtempSync(join(tmpdir(), 'tinyb-pushpin-'));
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
  const ipc = (name: string) => `ipc://{rundir}/{ipc_prefix}${name}`;
  const settings: Array<[section: string, key: string, value: string]> = [
    ['global', 'rundir', `${dir}/run`],
    ['global', 'port_offset', '0'],
    ['runner', 'services', 'condure,zurl,pushpin-proxy,pushpin-handler'],
    ['runner', 'http_port', `127.0.0.1:${port}`],
    ['runner', 'logdir', `${dir}/log`],
    ['runner', 'log_level', '1'],
    ['runner', 'client_maxconn', '60000'],
    ['proxy', 'routesfile', `${dir}/routes`],
    ['proxy', 'zurl_out_specs', ipc('zurl-in')],
    ['proxy', 'zurl_out_stream_specs', ipc('zurl-in-stream')],
    ['proxy', 'zurl_in_specs', ipc('zurl-out')],
    ['proxy', 'sig_key', randomBytes(16).toString('hex')],
    ['handler', 'push_in_spec', ipc('push-in')],
    ['handler', 'push_in_sub_specs', ipc('push-in-sub')],
    ['handler', 'command_spec', ipc('handler-command')],
    ['handler', 'push_in_http_addr', '127.0.0.1'],
    ['handler', 'push_in_http_port', String(publishPort)],
    ['handler', 'message_rate', '1000000'],
    ['handler', 'message_hwm', '1000000'],
  ];
  const conf = settings.reduce((ini, [section, key, value]) => setIniKey(ini, section, key, value), readFileSync('/etc/pushpin/pushpin.conf', 'utf8'));
  mkdirSync(`${dir}/run`);
  mkdirSync(`${dir}/log`);
  writeFileSync(`${dir}/pushpin.conf`, conf);
  writeFileSync(`${dir}/routes`, `* 127.0.0.1:${originPort}\n`);
  const child = spawn('sh', ['-c', 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec pushpin --config "$0"', `${dir}/pushpin.conf`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr = (stderr + chunk.toString()).slice(-2_000)));
  const stopAll = async () => {
    await stopProcessTree(child, () => workerPids(`${dir}/run`));
    origin.closeAllConnections();
    await new Promise<void>((resolve) => origin.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, 20_000, child);
  } catch (err) {
    const why = `${err instanceof Error ? err.message : String(err)}; ${stderr.trim().split('\n').slice(-3).join(' | ')}; ${logTails(`${dir}/log`)}`;
    await stopAll();
    throw new Error(why);
  }
  let next = 0;
  return {
    name: 'pushpin',
    host: '127.0.0.1',
    port,
    controlProbes: () => [{ name: 'health', url: `http://127.0.0.1:${port}/health` }],
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
    controlProbes: () => [{ name: 'health', url: `http://127.0.0.1:${port}/health` }],
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
