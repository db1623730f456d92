import { isIP } from 'node:net';
import { AppError } from '@tinyb/core';

/** Ports a listed host may be reached on when its entry names none. */
export const defaultEgressPorts: readonly number[] = [443, 80];

interface Entry {
  /** Canonical host: lower-case, punycode, no trailing dot, IPv6 without brackets. For a wildcard, the suffix after `*.`. */
  host: string;
  wildcard: boolean;
  /** Undefined: `defaultEgressPorts`. */
  port: number | undefined;
}

/**
 * The hosts a sandbox may open tunnels to, from `SANDBOX_EGRESS_ALLOW` (comma-separated). Entries:
 * `registry.npmjs.org`, `*.pythonhosted.org` (any subdomain, not the bare domain), either with `:<port>`
 * to allow that port instead of 443 and 80; IP literals (`10.0.0.5`, `[2001:db8::1]:8443`) only match
 * themselves, so a sandbox can reach an address only when the operator wrote that address. Empty: nothing.
 * Host names are compared in the canonical form the WHATWG URL parser gives them (case, IDNA, and numeric
 * forms such as `0x7f.1` for IPv4), so the same host cannot hide behind another spelling.
 */
export class EgressAllowList {
  private constructor(private readonly entries: readonly Entry[]) {}

  /** Throws AppError('sandbox_unavailable') naming the first malformed entry. */
  static parse(csv: string | undefined): EgressAllowList {
    const entries: Entry[] = [];
    for (const raw of (csv ?? '').split(',')) {
      const text = raw.trim();
      if (text === '') continue;
      const wildcard = text.startsWith('*.');
      const parsed = parseHostPort(wildcard ? text.slice(2) : text, { portRequired: false });
      if (parsed === undefined || (wildcard && isIP(parsed.host) !== 0)) {
        throw new AppError('sandbox_unavailable', `SANDBOX_EGRESS_ALLOW: cannot read the entry "${text}" (host, *.domain, either with :port)`);
      }
      entries.push({ host: parsed.host, wildcard, port: parsed.port });
    }
    return new EgressAllowList(entries);
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  /** `host` as `parseHostPort` gives it. */
  allows(host: string, port: number): boolean {
    return this.entries.some(
      (entry) =>
        (entry.port === undefined ? defaultEgressPorts.includes(port) : entry.port === port) &&
        (entry.wildcard ? isIP(host) === 0 && host.endsWith(`.${entry.host}`) : host === entry.host),
    );
  }

  /** Whether `host` (an IP literal) is itself an entry: such an address is the operator's explicit choice. */
  listsAddress(host: string): boolean {
    return isIP(host) !== 0 && this.entries.some((entry) => !entry.wildcard && entry.host === host);
  }
}

/**
 * Reads `host:port` (a CONNECT request's target, or an allow-list entry) into a canonical host and a port.
 * Undefined for anything else: user info, paths, empty hosts, ports out of range.
 */
export function parseHostPort(authority: string, opts: { portRequired: boolean }): { host: string; port: number | undefined } | undefined {
  let hostPart = authority;
  let port: number | undefined;
  const withPort = /^(.*):(\d{1,5})$/.exec(authority);
  // A bare IPv6 address (allowed in entries) also ends in `:<digits>`.
  if (withPort && isIP(authority) === 0) {
    hostPart = withPort[1] ?? '';
    port = Number(withPort[2]);
    if (port < 1 || port > 65535) return undefined;
  } else if (opts.portRequired) {
    return undefined;
  }
  if (isIP(hostPart) === 6) hostPart = `[${hostPart}]`;
  if (hostPart === '' || /[/?#@\\\s]/.test(hostPart)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${hostPart}`);
  } catch {
    return undefined;
  }
  if (url.port !== '' || url.username !== '' || url.password !== '' || url.pathname !== '/') return undefined;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  if (host === '') return undefined;
  return { host, port };
}
