import path from 'node:path';
import { AppError } from '@tinyb/core';

/** A Unix socket of the worker's that commands in a sandbox reach as `127.0.0.1:<port>` on their own loopback. */
export interface SandboxPortForward {
  /** Port inside the sandbox, 1024–65535: the unprivileged sandbox user cannot listen below 1024. */
  port: number;
  /** Absolute host path of a Unix socket the worker (or a service it trusts) listens on. */
  hostSocketPath: string;
}

/**
 * What a bwrap sandbox may reach besides its own loopback: nothing unless listed here. Each command gets its
 * own network namespace holding only `lo`, so the host's loopback (Redis, the API), its other addresses,
 * abstract Unix sockets and DNS are all out of reach; the only ways out are these sockets.
 */
export interface SandboxNetworkOptions {
  /** Sockets relayed into every command's loopback, e.g. the model gateway (`ANTHROPIC_BASE_URL=http://127.0.0.1:<port>/anthropic`). */
  forwards?: readonly SandboxPortForward[];
  /**
   * An HTTP CONNECT proxy (usually `EgressProxy`'s socket), relayed like the forwards. Commands also get
   * `HTTPS_PROXY`, `HTTP_PROXY` (both cases) pointing at it and `NO_PROXY=127.0.0.1,localhost` by default;
   * the caller's env wins.
   */
  httpProxy?: SandboxPortForward;
}

/** Where the forwarded sockets appear inside the sandbox. */
export const sandboxSocketDir = '/run/tinyb';

/**
 * The relays of one sandbox configuration. Why socat and not a few lines of node:net: the relays start once
 * per exec (every tool call of an agent is one), and on this project's 2-core test machine under load
 * `socat -V` took ~27 ms where `node -e 0` took ~145 ms (and tens of MiB); socat also needs nothing from the
 * workspace. Measured per exec, same load: `true` took ~105 ms in a bare sandbox, ~210 ms with one forward
 * and ~265 ms with two, almost all of it socat's own start (waiting for LISTEN without sleeping was slower).
 *
 * The relays start before the command, from a POSIX shell that then `exec`s the command:
 * - no race: the shell waits until each port is in LISTEN state in the namespace's own /proc/net/tcp (read
 *   with shell builtins, so no probe connection reaches the worker's service), so the command never sees
 *   "connection refused" from a relay still starting;
 * - no stray children: each socat is started from a subshell that exits at once, so socat is adopted by
 *   bwrap's init in the sandbox's PID namespace and never shows up as an unknown child of the command;
 * - gone with the command: bwrap exits with the command's status as soon as the command exits, and
 *   `--die-with-parent` then kills the namespace's init (which would otherwise wait for the relays forever),
 *   and with it every process left in that PID namespace.
 */
export class SandboxNetwork {
  /** Host socket → sandbox path, for bwrap `--ro-bind`. Bound per exec, so a restarted service's new socket is seen. */
  readonly socketBinds: ReadonlyArray<{ hostPath: string; sandboxPath: string }>;
  /** PATH/HOME-level defaults for every command: the proxy variables when an HTTP proxy is configured. */
  readonly defaultEnv: Readonly<Record<string, string>>;
  private readonly script: string | undefined;

  constructor(opts: SandboxNetworkOptions & { socatPath?: string }) {
    const forwards = [...(opts.forwards ?? []), ...(opts.httpProxy ? [opts.httpProxy] : [])];
    const seen = new Set<number>();
    for (const forward of forwards) {
      if (!Number.isInteger(forward.port) || forward.port < 1024 || forward.port > 65535) {
        throw new AppError('sandbox_unavailable', `a sandbox forward's port must be an integer from 1024 to 65535, got ${forward.port}`);
      }
      if (seen.has(forward.port)) throw new AppError('sandbox_unavailable', `sandbox forward port ${forward.port} is given twice`);
      seen.add(forward.port);
      if (!path.isAbsolute(forward.hostSocketPath)) {
        throw new AppError('sandbox_unavailable', `a sandbox forward's hostSocketPath must be absolute, got ${forward.hostSocketPath}`);
      }
    }
    this.socketBinds = forwards.map((f) => ({ hostPath: f.hostSocketPath, sandboxPath: `${sandboxSocketDir}/${f.port}.sock` }));

    const proxyUrl = opts.httpProxy ? `http://127.0.0.1:${opts.httpProxy.port}` : undefined;
    this.defaultEnv = proxyUrl
      ? {
          HTTPS_PROXY: proxyUrl,
          HTTP_PROXY: proxyUrl,
          https_proxy: proxyUrl,
          http_proxy: proxyUrl,
          NO_PROXY: '127.0.0.1,localhost',
          no_proxy: '127.0.0.1,localhost',
        }
      : {};

    if (forwards.length === 0) return;
    const socat = opts.socatPath;
    if (socat === undefined) throw new AppError('sandbox_unavailable', 'socat is needed to forward sockets into the sandbox');
    if (!socat.startsWith('/usr/') || /[^A-Za-z0-9_./-]/.test(socat)) {
      // Only /usr is visible inside; the path is also pasted into a shell script.
      throw new AppError('sandbox_unavailable', `socat must be installed under /usr to run inside the sandbox, found ${socat}`);
    }
    this.script = forwarderScript(
      socat,
      forwards.map((f) => f.port),
    );
  }

  /** The argv that starts the relays, waits until they listen, then execs `argv`; `argv` itself without forwards. */
  wrap(argv: readonly string[]): string[] {
    return this.script === undefined ? [...argv] : ['/bin/sh', '-c', this.script, 'sandbox-network', ...argv];
  }
}

/**
 * The shell script behind `wrap`. Every value in it is a validated port number or a path we chose, so nothing
 * from a caller is interpolated. The wait yields with a short sleep between checks: on a busy two-core
 * machine a spinning loop would steal the CPU from the socat it waits for.
 */
export function forwarderScript(socatPath: string, ports: readonly number[]): string {
  const lines = [
    'listening() {',
    '  while read -r _ addr _ state _; do',
    '    [ "$addr" = "0100007F:$1" ] && [ "$state" = 0A ] && return 0',
    '  done </proc/net/tcp',
    '  return 1',
    '}',
    'await_relay() {',
    '  tries=0',
    '  until listening "$2"; do',
    '    tries=$((tries + 1))',
    '    if [ "$tries" -gt 5000 ] || ! kill -0 "$1" 2>/dev/null; then',
    '      echo "sandbox network: the relay for 127.0.0.1:$3 did not start" >&2',
    '      exit 126',
    '    fi',
    '    [ "$tries" -gt 20 ] && /bin/sleep 0.001',
    '  done',
    '}',
  ];
  ports.forEach((port, i) => {
    lines.push(
      `relay${i}=$(${socatPath} TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:${sandboxSocketDir}/${port}.sock </dev/null >/dev/null 2>&1 & echo $!)`,
    );
  });
  ports.forEach((port, i) => {
    lines.push(`await_relay "$relay${i}" ${port.toString(16).toUpperCase().padStart(4, '0')} ${port}`);
  });
  lines.push('exec "$@"');
  return lines.join('\n');
}
