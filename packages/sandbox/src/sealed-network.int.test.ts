import fs from 'node:fs/promises';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { LocalSandbox } from './local-sandbox.js';
import { LocalSandboxProvider } from './local-sandbox-provider.js';

/**
 * A hostile command inside a bwrap sandbox tries every way out of its network namespace. Each probe is first
 * run in an unisolated sandbox (the host's network) as a control, so that "unreachable inside" cannot pass
 * because the target was down to begin with.
 */

const rootDir = path.join(os.tmpdir(), `tinyb-sealed-net-${process.pid}`);
const never = new AbortController().signal;
const redisProbe = 'exec 3<>/dev/tcp/127.0.0.1/6379; printf "PING\\r\\n" >&3; head -c5 <&3';
/** Errors that mean "no connection was made"; a timeout is not one of them (it would hide a filtered path). */
const connectFailure = /^(ECONNREFUSED|ENETUNREACH|EHOSTUNREACH|EADDRNOTAVAIL)$/;

/** Node inside the sandbox connects to each `[host, port]` and prints, per target, `connected` or the error code. */
const connectProbe = `
const net = require('node:net');
const targets = JSON.parse(process.argv[1]);
Promise.all(targets.map(([host, port]) => new Promise((resolve) => {
  const socket = net.connect({ host, port });
  socket.setTimeout(5000, () => { socket.destroy(); resolve('ETIMEDOUT'); });
  socket.once('connect', () => { socket.destroy(); resolve('connected'); });
  socket.once('error', (err) => resolve(err.code));
}))).then((results) => console.log(JSON.stringify(results)));
`;

async function connectResults(sandbox: LocalSandbox, targets: Array<[string, number]>): Promise<string[]> {
  const result = await sandbox.exec(['node', '-e', connectProbe, JSON.stringify(targets)], { timeoutMs: 20_000 });
  expect(result).toMatchObject({ exitCode: 0, timedOut: false });
  return JSON.parse(result.stdout) as string[];
}

/** Host processes whose command line contains `marker`. */
async function hostProcessesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker) && Number(entry) !== process.pid) pids.push(Number(entry));
  }
  return pids;
}

let socketDir: string;
const sandboxes: LocalSandbox[] = [];
async function sandboxWith(opts: ConstructorParameters<typeof LocalSandboxProvider>[0]): Promise<LocalSandbox> {
  const provider = new LocalSandboxProvider({ rootDir, killGraceMs: 500, ...opts });
  const sandbox = await provider.create({ jobId: 'net', attempt: sandboxes.length + 1, toolPaths: [] }, never);
  sandboxes.push(sandbox);
  return sandbox;
}

beforeAll(async () => {
  socketDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tinyb-sock-'));
});
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.destroy()));
});
afterAll(async () => {
  await fs.rm(rootDir, { recursive: true, force: true });
  await fs.rm(socketDir, { recursive: true, force: true });
});

describe('a bwrap sandbox without forwards', () => {
  it("cannot reach the worker's Redis (the host's answers +PONG)", async () => {
    const host = await sandboxWith({ isolation: 'none' });
    expect((await host.exec(['bash', '-c', redisProbe])).stdout).toBe('+PONG');

    const sandbox = await sandboxWith({ isolation: 'bwrap' });
    const probe = await sandbox.exec(['bash', '-c', redisProbe]);
    expect(probe.stdout).not.toContain('PONG');
    expect(probe.exitCode).not.toBe(0);
    expect(probe.stderr).toContain('/dev/tcp/127.0.0.1/6379: Connection refused');
    expect(await connectResults(sandbox, [['127.0.0.1', 6379]])).toEqual(['ECONNREFUSED']);
  });

  it("cannot reach a server on the host's loopback, by any name, nor on the host's other addresses", async () => {
    // Dual-stack on every address: the stand-in for the API, or anything else the host serves.
    const server = net.createServer((socket) => {
      socket.on('error', () => undefined); // the probe hangs up at once
      socket.end('hello\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      // Link-local addresses are left out: they need the host's interface name, which the sandbox lacks anyway.
      const external = Object.values(os.networkInterfaces())
        .flat()
        .filter((i) => i !== undefined && !i.internal && !i.address.startsWith('fe80:'))
        .map((i) => i!.address);
      expect(external.length).toBeGreaterThan(0);
      const targets: Array<[string, number]> = [['127.0.0.1', port], ['localhost', port], ['::1', port], ...external.map((a): [string, number] => [a, port])];

      const host = await sandboxWith({ isolation: 'none' });
      expect(await connectResults(host, targets)).toEqual(targets.map(() => 'connected'));

      const sandbox = await sandboxWith({ isolation: 'bwrap' });
      const inside = await connectResults(sandbox, targets);
      inside.forEach((code, i) => {
        expect({ target: targets[i], code }).toEqual({ target: targets[i], code: expect.stringMatching(connectFailure) });
      });
      const viaBash = await sandbox.exec(['bash', '-c', `exec 3<>/dev/tcp/${external[0]}/${port} && echo connected`]);
      expect(viaBash.stdout).toBe('');
      expect(viaBash.stderr).toMatch(/Network is unreachable|No route to host|Connection refused/);
    } finally {
      server.close();
    }
  });

  it('resolves no DNS names', async () => {
    const script = `require('node:dns').lookup('registry.npmjs.org', (err, address) => console.log(err ? err.code : address))`;
    const sandbox = await sandboxWith({ isolation: 'bwrap' });
    const lookup = await sandbox.exec(['node', '-e', script], { timeoutMs: 20_000 });
    expect(lookup.stdout.trim()).toMatch(/^(EAI_AGAIN|ENOTFOUND|ESERVFAIL|ECONNREFUSED)$/);
    expect((await sandbox.exec(['getent', 'hosts', 'registry.npmjs.org'])).exitCode).toBe(2);
  });

  it('has only a loopback interface', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap' });
    const result = await sandbox.exec(['sh', '-c', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"]);
    expect(result.stdout).toBe('lo\n');
  });
});

describe('a bwrap sandbox with a forward', () => {
  let server: http.Server;
  let socketPath: string;
  const seen: string[] = [];

  beforeAll(async () => {
    socketPath = path.join(socketDir, 'gateway.sock');
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers['x-api-key'] ?? ''}`);
      res.end(`gateway saw ${req.url}`);
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const forwards = () => ({ network: { forwards: [{ port: 4000, hostSocketPath: socketPath }] } });

  it('reaches the host Unix socket from 127.0.0.1:<port>, in one exec after another', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap', ...forwards() });
    const script = `fetch('http://127.0.0.1:4000/anthropic/v1/messages', { headers: { 'x-api-key': 'job-token-1' } }).then((r) => r.text()).then((t) => console.log(t))`;
    const first = await sandbox.exec(['node', '-e', script], { timeoutMs: 20_000 });
    expect(first).toMatchObject({ exitCode: 0, stdout: 'gateway saw /anthropic/v1/messages\n' });
    expect(seen).toContain('GET /anthropic/v1/messages job-token-1');

    const second = await sandbox.exec(['bash', '-c', 'exec 3<>/dev/tcp/127.0.0.1/4000; printf "GET /again HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3']);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toContain('gateway saw /again');
    // The forward opens nothing else.
    expect(await connectResults(sandbox, [['127.0.0.1', 6379]])).toEqual(['ECONNREFUSED']);
  });

  it('is listening before the command starts, and gone when it ends', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap', ...forwards() });
    // The connection is the command's very first act: a relay still starting would refuse it.
    for (let i = 0; i < 5; i++) {
      const result = await sandbox.exec(['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/4000; printf "GET /race-${i} HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3`]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`gateway saw /race-${i}`);
    }
    expect(await hostProcessesWith('TCP-LISTEN:4000')).toEqual([]);
  });

  it('does not leave the relay as a child of the command', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap', ...forwards() });
    // The command is PID 2 under bwrap's init; the relay must have been adopted by init, not be our child.
    const result = await sandbox.exec(['sh', '-c', 'cat /proc/[0-9]*/stat 2>/dev/null | awk \'$2 == "(socat)" { print $4 }\'']);
    expect(result.stdout.trim()).toBe('1');
  });

  it('fails the command loudly when the host socket is missing', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap', network: { forwards: [{ port: 4000, hostSocketPath: path.join(socketDir, 'nothing.sock') }] } });
    const result = await sandbox.exec(['true']);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toContain('nothing.sock');
  });

  it('gives commands the proxy variables for an httpProxy forward, the caller winning', async () => {
    const sandbox = await sandboxWith({ isolation: 'bwrap', network: { httpProxy: { port: 3128, hostSocketPath: socketPath } } });
    const printed = await sandbox.exec(['sh', '-c', 'printf "%s|%s|%s|%s" "$HTTPS_PROXY" "$http_proxy" "$NO_PROXY" "$PATH"'], { env: { http_proxy: 'mine' } });
    expect(printed.stdout).toMatch(/^http:\/\/127\.0\.0\.1:3128\|mine\|127\.0\.0\.1,localhost\|\/usr/);
  });

  it('changes nothing without isolation: no forwards, no proxy variables, the host network', async () => {
    const sandbox = await sandboxWith({ isolation: 'none', network: { forwards: [{ port: 4000, hostSocketPath: socketPath }], httpProxy: { port: 3128, hostSocketPath: socketPath } } });
    const env = await sandbox.exec(['env']);
    expect(env.stdout).not.toMatch(/proxy/i);
    expect((await sandbox.exec(['bash', '-c', redisProbe])).stdout).toBe('+PONG');
  });
});
