import { createHash, timingSafeEqual } from 'node:crypto';
import { ADMIN_TENANT, ANONYMOUS_TENANT, type ApiKeyEntry } from './api-keys.js';

/** Who a request acts for. An admin sees and may cancel every tenant's jobs and opens Bull Board. */
export interface Principal {
  tenant: string;
  admin: boolean;
}

export interface AuthenticatorConfig {
  /** API_TOKEN: the operator's key, which acts as admin. */
  adminToken?: string;
  /** API_KEYS, parsed: one key (hash) per tenant. */
  apiKeys?: readonly ApiKeyEntry[];
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * Resolves a presented key to a principal. Keys are compared by their SHA-256 (so the server holds no
 * tenant key, and every comparison is between equal-length digests), in constant time, and against every
 * configured hash without stopping at a match: how long the check takes says nothing about which key,
 * if any, matched. With no key configured at all the service is open and everyone is admin.
 */
export class Authenticator {
  private readonly adminHash: Buffer | undefined;
  private readonly entries: readonly ApiKeyEntry[];

  constructor(config: AuthenticatorConfig) {
    this.adminHash = config.adminToken === undefined || config.adminToken === '' ? undefined : sha256(config.adminToken);
    this.entries = config.apiKeys ?? [];
  }

  /** True when neither an admin token nor any tenant key is configured: every request is admin. */
  get open(): boolean {
    return this.adminHash === undefined && this.entries.length === 0;
  }

  /** The principal a key stands for; null for a missing or unknown key (in open mode: always admin). */
  authenticate(key: string | undefined): Principal | null {
    if (this.open) return { tenant: ANONYMOUS_TENANT, admin: true };
    if (key === undefined || key === '') return null;
    const presented = sha256(key);
    let tenant: string | undefined;
    for (const entry of this.entries) {
      // `&&` would skip the comparison once a tenant is found; both sides are always evaluated here.
      const matches = timingSafeEqual(presented, entry.keyHash);
      if (matches && tenant === undefined) tenant = entry.tenant;
    }
    const isAdmin = this.adminHash !== undefined && timingSafeEqual(presented, this.adminHash);
    if (isAdmin) return { tenant: ADMIN_TENANT, admin: true };
    return tenant === undefined ? null : { tenant, admin: false };
  }
}
