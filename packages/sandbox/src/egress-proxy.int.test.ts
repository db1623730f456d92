import fs from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EgressAllowList } from './egress-allow-list.js';
import { EgressProxy, type EgressProxyOptions } from './egress-proxy.js';
import type { LocalSandbox } from './local-sandbox.js';
import { LocalSandboxProvider } from './local-sandbox-provider.js';

/**
 * The egress proxy against real sockets: from the host (its limits), and from inside a real bwrap sandbox
 * through the `httpProxy` forward (its policy). `allowed.test` is mapped by an injected resolver to a test
 * server on the host's loopback, which only a proxy with the private-range check switched off may reach.
 */

const never = new AbortController().signal;
let dir: string;
let upstream: http.Server;
let upstreamPort: number;
const proxies: EgressProxy[] = [];

const toLoopback: EgressProxyOptions['lookup'] = async (hostname) => {
  if (hostname === 'allowed.test' || hostname.endsWith('.allowed.test')) return [{ address: '127.0.0.1', family: 4 }];
  if (hostname === 'slow.test') return new Promise(() => undefined);
  throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
};

async function startProxy(opts: Partial<EgressProxyOptions> = {}): Promise<EgressProxy> {
  const proxy = await EgressProxy.start({
    socketPath: path.join(dir, `egress-${proxies.length}.sock`),
    allow: EgressAllowList.parse(`allowed.test:${upstreamPort}, *.allowed.test:${upstreamPort}, slow.test:${upstreamPort}, 10.1.2.3:443`),
    lookup: toLoopback,
    allowPrivateAddresses: true,
    ...opts,
  });
  proxies.push(proxy);
  return proxy;
}

/** Sends CONNECT over the proxy's socket; resolves with the status and, once tunnelled, the socket. */
function connectVia(proxy: EgressProxy, target: string): Promise<{ status: number; socket: net.Socket; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: proxy.socketPath, method: 'CONNECT', path: target });
    req.on('connect', (res, socket) => {
      if (res.statusCode === 200) return resolve({ status: 200, socket, body: '' });
      let body = '';
      socket.on('data', (c: Buffer) => (body += c.toString()));
      socket.on('close', () => resolve({ status: res.statusCode ?? 0, socket, body }));
      socket.on('error', () => undefined);
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socket: res.socket as net.Socket, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function closed(socket: net.Socket): Promise<void> {
  return socket.destroyed ? Promise.resolve() : new Promise((resolve) => socket.once('close', () => resolve()));
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tinyb-egress-'));
  upstream = http.createServer((req, res) => res.end(`upstream saw ${req.headers.host} ${req.url}`));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamPort = (upstream.address() as AddressInfo).port;
});
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});
afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
  await fs.rm(dir, { recursive: true, force: true });
});

describe('EgressProxy from the host', () => {
  it('tunnels to an allowed host, and its socket is for the owner only', async () => {
    const proxy = await startProxy();
    expect((await fs.stat(proxy.socketPath)).mode & 0o777).toBe(0o600);
    const { status, socket } = await connectVia(proxy, `allowed.test:${upstreamPort}`);
    expect(status).toBe(200);
    socket.write('GET /hello HTTP/1.0\r\nHost: allowed.test\r\n\r\n');
    let reply = '';
    socket.on('data', (c: Buffer) => (reply += c.toString()));
    await closed(socket);
    expect(reply).toContain('upstream saw allowed.test /hello');
  });

  it('refuses ports an entry does not name, malformed targets and plain HTTP', async () => {
    const proxy = await startProxy();
    expect((await connectVia(proxy, 'allowed.test:443')).status).toBe(403);
    expect((await connectVia(proxy, 'allowed.test')).status).toBe(400);
    expect((await connectVia(proxy, `user@allowed.test:${upstreamPort}`)).status).toBe(400);
    const plain = await new Promise<number>((resolve, reject) => {
      http
        .get({ socketPath: proxy.socketPath, path: `http://allowed.test:${upstreamPort}/` }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(plain).toBe(405);
  });

  it('reaches an IP literal only when that very address is listed, whatever its range', async () => {
    const proxy = await startProxy({ allow: EgressAllowList.parse(`127.0.0.1:${upstreamPort}`), allowPrivateAddresses: false });
    const listed = await connectVia(proxy, `127.0.0.1:${upstreamPort}`);
    expect(listed.status).toBe(200);
    listed.socket.destroy();
    expect((await connectVia(proxy, `127.0.0.2:${upstreamPort}`)).status).toBe(403);
    expect((await connectVia(proxy, `[::ffff:127.0.0.1]:${upstreamPort}`)).status).toBe(403);
  });

  it('answers 502 when the name does not resolve, and 504 when resolving takes too long', async () => {
    const proxy = await startProxy({ allow: EgressAllowList.parse('missing.test, slow.test'), connectTimeoutMs: 300 });
    expect((await connectVia(proxy, 'missing.test:443')).status).toBe(502);
    const startedMs = Date.now();
    expect((await connectVia(proxy, 'slow.test:443')).status).toBe(504);
    expect(Date.now() - startedMs).toBeLessThan(3000);
  });

  it('bounds concurrent tunnels, closes idle ones, and ends them all on close()', async () => {
    const proxy = await startProxy({ maxTunnels: 1, idleTimeoutMs: 400 });
    const first = await connectVia(proxy, `allowed.test:${upstreamPort}`);
    expect(first.status).toBe(200);
    expect(proxy.tunnelCount).toBe(1);
    expect((await connectVia(proxy, `allowed.test:${upstreamPort}`)).status).toBe(503);
    const idleSinceMs = Date.now();
    await closed(first.socket);
    expect(Date.now() - idleSinceMs).toBeGreaterThanOrEqual(300);

    const roomy = await startProxy({ idleTimeoutMs: 60_000 });
    const open = await connectVia(roomy, `allowed.test:${upstreamPort}`);
    expect(open.status).toBe(200);
    await roomy.close();
    await closed(open.socket);
    expect(roomy.tunnelCount).toBe(0);
  });
});

describe('EgressProxy from inside a bwrap sandbox', () => {
  const proxyPort = 3128;
  const rootDir = path.join(os.tmpdir(), `tinyb-egress-sandboxes-${process.pid}`);
  let sandbox: LocalSandbox;

  /** Node in the sandbox tunnels through $HTTPS_PROXY to each target, then speaks HTTP; prints status and reply. */
  const tunnelProbe = `
const http = require('node:http');
const proxy = new URL(process.env.HTTPS_PROXY);
const tunnel = (target) => new Promise((resolve) => {
  const req = http.request({ host: proxy.hostname, port: proxy.port, method: 'CONNECT', path: target });
  req.on('connect', (res, socket) => {
    if (res.statusCode !== 200) { socket.destroy(); return resolve({ status: res.statusCode }); }
    let body = '';
    socket.on('data', (c) => (body += c));
    socket.on('close', () => resolve({ status: 200, body: body.split('\\r\\n\\r\\n')[1] }));
    socket.write('GET /from-sandbox HTTP/1.0\\r\\nHost: ' + target + '\\r\\n\\r\\n');
  });
  req.on('error', (err) => resolve({ error: err.code }));
  req.end();
});
Promise.all(JSON.parse(process.argv[1]).map(tunnel)).then((r) => console.log(JSON.stringify(r)));
`;

  async function tunnelsFromSandbox(proxy: EgressProxy, targets: string[]): Promise<unknown[]> {
    const provider = new LocalSandboxProvider({ rootDir, killGraceMs: 500, network: { httpProxy: { port: proxyPort, hostSocketPath: proxy.socketPath } } });
    sandbox = await provider.create({ jobId: 'egress', attempt: 1, toolPaths: [] }, never);
    try {
      const result = await sandbox.exec(['node', '-e', tunnelProbe, JSON.stringify(targets)], { timeoutMs: 20_000 });
      expect(result).toMatchObject({ exitCode: 0, timedOut: false });
      return JSON.parse(result.stdout) as unknown[];
    } finally {
      await sandbox.destroy();
    }
  }

  afterAll(async () => {
    await fs.rm(rootDir, { recursive: true, force: true });
  });

  it('reaches an allowed name; a name not listed and IP literals get 403', async () => {
    const proxy = await startProxy();
    const targets = [`allowed.test:${upstreamPort}`, `deep.also.allowed.test:${upstreamPort}`, 'example.com:443', `127.0.0.1:${upstreamPort}`, '[::1]:443', '192.0.2.2:443'];
    expect(await tunnelsFromSandbox(proxy, targets)).toEqual([
      { status: 200, body: `upstream saw allowed.test:${upstreamPort} /from-sandbox` },
      { status: 200, body: `upstream saw deep.also.allowed.test:${upstreamPort} /from-sandbox` },
      { status: 403 },
      { status: 403 },
      { status: 403 },
      { status: 403 },
    ]);
  });

  it('refuses a listed name that resolves to 127.0.0.1 when the private-range check is on (the default)', async () => {
    const proxy = await startProxy({ allowPrivateAddresses: undefined });
    expect(await tunnelsFromSandbox(proxy, [`allowed.test:${upstreamPort}`])).toEqual([{ status: 403 }]);
  });
});
