import { lookup as dnsLookup } from 'node:dns/promises';
import fs from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { silentLogger, type Logger } from '@tinyb/core';
import { parseHostPort, type EgressAllowList } from './egress-allow-list.js';
import { isNonPublicAddress } from './non-public-address.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface EgressProxyOptions {
  /** Where to listen: a Unix socket the sandboxes get as their `httpProxy` forward. Made mode 0600. */
  socketPath: string;
  /** From `SANDBOX_EGRESS_ALLOW`. */
  allow: EgressAllowList;
  /** Name resolution in the worker; default every address `dns.lookup` gives. Tests map their own names. */
  lookup?(hostname: string): Promise<readonly ResolvedAddress[]>;
  /**
   * Tests only: let a listed name resolve to loopback, private or other non-public addresses. Off, a name
   * resolving to any such address is refused, so a listed name pointed at 127.0.0.1 cannot reach the worker's
   * Redis. IP literals the operator listed are reached whatever their range: that address is their choice.
   */
  allowPrivateAddresses?: boolean;
  /** Resolving and connecting to the upstream, together. Default 10 s. */
  connectTimeoutMs?: number;
  /** A tunnel with no bytes either way for this long is closed. Default 120 s. */
  idleTimeoutMs?: number;
  /** Tunnels open at once (being set up or relaying); more get 503. Default 64. */
  maxTunnels?: number;
  logger?: Logger;
}

/** A refusal: the status and a line of text for the client, and why, for the log. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The sandboxes' one door to the internet: an HTTP CONNECT proxy on a Unix socket of the worker's, which only
 * opens tunnels to hosts on the allow-list, on ports 443 and 80 (or the port an entry names). Names are
 * resolved here, in the worker, and every address they resolve to must be public; the tunnel then connects to
 * exactly the address checked, so a name re-pointed between check and use (DNS rebinding) changes nothing.
 * Plain `GET http://…` requests get 405: proxying them would mean rewriting requests, and the clients that
 * matter (npm, pip, git, cargo over HTTPS) tunnel with CONNECT anyway. What passes through a tunnel is not
 * inspected (it is TLS); the allow-list is the whole policy.
 */
export class EgressProxy {
  readonly socketPath: string;
  private readonly server: http.Server;
  private readonly tunnels = new Set<{ client: Duplex; upstream?: net.Socket }>();
  private readonly lookup: (hostname: string) => Promise<readonly ResolvedAddress[]>;
  private readonly connectTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxTunnels: number;
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;

  private constructor(private readonly opts: EgressProxyOptions) {
    this.socketPath = opts.socketPath;
    this.lookup = opts.lookup ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 120_000;
    this.maxTunnels = opts.maxTunnels ?? 64;
    this.logger = (opts.logger ?? silentLogger).child({ component: 'egress-proxy' });
    this.server = http.createServer((req, res) => {
      res.writeHead(405, { allow: 'CONNECT', 'content-type': 'text/plain', connection: 'close' });
      res.end('this proxy only opens HTTPS tunnels (CONNECT) to allowed hosts\n');
      this.logger.info({ method: req.method }, 'egress refused: not a CONNECT request');
    });
    this.server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => void this.tunnel(req, client, head));
  }

  /** Listens on `socketPath` (a stale socket left by a crashed worker is replaced). */
  static async start(opts: EgressProxyOptions): Promise<EgressProxy> {
    const proxy = new EgressProxy(opts);
    const stale = await fs.lstat(opts.socketPath).catch(() => undefined);
    if (stale?.isSocket()) await fs.rm(opts.socketPath);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(opts.socketPath, () => {
        proxy.server.off('error', reject);
        resolve();
      });
    });
    // Only the worker's uid (which the sandbox user maps to) may use it, not other users of the host.
    await fs.chmod(opts.socketPath, 0o600);
    return proxy;
  }

  /** Tunnels open now, being set up included. */
  get tunnelCount(): number {
    return this.tunnels.size;
  }

  /** Stops listening and ends every tunnel. Idempotent. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const tunnel of this.tunnels) {
        tunnel.client.destroy();
        tunnel.upstream?.destroy();
      }
      this.tunnels.clear();
      this.server.closeAllConnections();
    });
    return this.closing;
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => {
      // The sandbox side went away; 'close' cleans up.
    });
    if (this.closing) return refuse(client, 503, 'the proxy is shutting down');
    if (this.tunnels.size >= this.maxTunnels) {
      this.logger.warn({ maxTunnels: this.maxTunnels }, 'egress refused: too many tunnels');
      return refuse(client, 503, 'too many tunnels open');
    }
    const tunnel: { client: Duplex; upstream?: net.Socket } = { client };
    this.tunnels.add(tunnel);
    client.once('close', () => {
      tunnel.upstream?.destroy();
      this.tunnels.delete(tunnel);
    });

    const target = req.url ?? '';
    try {
      const upstream = await this.connect(target, client);
      tunnel.upstream = upstream;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      const endIdle = (): void => {
        client.destroy();
        upstream.destroy();
      };
      upstream.setTimeout(this.idleTimeoutMs, endIdle);
      if (client instanceof net.Socket) client.setTimeout(this.idleTimeoutMs, endIdle);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      this.logger.debug({ target }, 'egress tunnel opened');
    } catch (err) {
      const refusal = err instanceof Refusal ? err : new Refusal(502, 'could not reach the host');
      this.logger.info({ target, status: refusal.status, reason: refusal.message }, 'egress refused');
      refuse(client, refusal.status, refusal.message);
    }
  }

  /** Checks `target` against the policy and connects to it; throws a Refusal. */
  private async connect(target: string, client: Duplex): Promise<net.Socket> {
    const parsed = parseHostPort(target, { portRequired: true });
    if (parsed?.port === undefined) throw new Refusal(400, 'CONNECT needs host:port');
    const { host, port } = parsed;
    if (!this.opts.allow.allows(host, port)) throw new Refusal(403, `${host}:${port} is not on the egress allow-list`);

    const deadline = AbortSignal.timeout(this.connectTimeoutMs);
    let address: ResolvedAddress;
    if (net.isIP(host) !== 0) {
      // Only reachable when the operator listed this very address (`allows` matched it exactly).
      address = { address: host, family: net.isIP(host) };
    } else {
      const resolved = await raceDeadline(this.lookup(host), deadline).catch((err: unknown) => {
        throw err instanceof Refusal ? err : new Refusal(502, `cannot resolve ${host}`);
      });
      const first = resolved[0];
      if (first === undefined) throw new Refusal(502, `cannot resolve ${host}`);
      if (!this.opts.allowPrivateAddresses && resolved.some((a) => isNonPublicAddress(a.address))) {
        throw new Refusal(403, `${host} resolves to a non-public address`);
      }
      address = first;
    }
    if (client.destroyed) throw new Refusal(499, 'the client went away');

    return new Promise<net.Socket>((resolve, reject) => {
      const upstream = net.connect({ host: address.address, port, family: address.family });
      const fail = (refusal: Refusal): void => {
        deadline.removeEventListener('abort', onDeadline);
        client.off('close', onClientClose);
        upstream.destroy();
        reject(refusal);
      };
      const onDeadline = (): void => fail(new Refusal(504, `connecting to ${host}:${port} timed out`));
      const onClientClose = (): void => fail(new Refusal(499, 'the client went away'));
      deadline.addEventListener('abort', onDeadline, { once: true });
      client.once('close', onClientClose);
      upstream.once('error', () => fail(new Refusal(502, `cannot connect to ${host}:${port}`)));
      upstream.once('connect', () => {
        deadline.removeEventListener('abort', onDeadline);
        client.off('close', onClientClose);
        upstream.removeAllListeners('error');
        resolve(upstream);
      });
    });
  }
}

function raceDeadline<T>(promise: Promise<T>, deadline: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Refusal(504, 'resolving the host timed out'));
    if (deadline.aborted) return onAbort();
    deadline.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => deadline.removeEventListener('abort', onAbort));
  });
}

/** Answers the CONNECT with an error status and closes the connection. */
function refuse(client: Duplex, status: number, message: string): void {
  if (client.destroyed) return;
  const body = `${message}\n`;
  client.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
