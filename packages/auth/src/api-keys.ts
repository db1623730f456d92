import { createHash } from 'node:crypto';

/**
 * Tenant names: lower-case, URL- and log-safe, short. They end up in Redis keys, log fields and listings,
 * so nothing a shell, a key or a log line would need to escape.
 */
export const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The tenant of jobs submitted with the admin key (API_TOKEN). */
export const ADMIN_TENANT = 'admin';
/** The tenant of jobs submitted when no key is configured at all (open mode). */
export const ANONYMOUS_TENANT = 'anonymous';
// Reserved so that a tenant key can never read the admin's or the open mode's jobs as its own.
const RESERVED_TENANTS: ReadonlySet<string> = new Set([ADMIN_TENANT, ANONYMOUS_TENANT]);

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** One configured tenant: its name and the SHA-256 of its key (the key itself is never configured). */
export interface ApiKeyEntry {
  tenant: string;
  keyHash: Buffer;
}

/** A malformed API_KEYS value; the message names the entry (by position and tenant, never a hash). */
export class ApiKeysError extends Error {
  override readonly name = 'ApiKeysError';
}

/**
 * Parses `API_KEYS`: `tenant:<sha256 hex of the key>` entries separated by commas (whitespace around
 * entries is ignored, an empty value means no tenants). Throws ApiKeysError on anything else: a server
 * that silently dropped a malformed entry would lock a tenant out with no clue why.
 */
export function parseApiKeys(spec: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const seenTenants = new Set<string>();
  const seenHashes = new Set<string>();
  const parts = spec.split(',').map((p) => p.trim());
  if (parts.length === 1 && parts[0] === '') return entries;
  parts.forEach((part, index) => {
    const where = `API_KEYS entry ${index + 1}`;
    if (part === '') throw new ApiKeysError(`${where} is empty (stray comma?)`);
    const colon = part.indexOf(':');
    if (colon === -1) throw new ApiKeysError(`${where} must look like <tenant>:<sha256 hex of the key>`);
    const tenant = part.slice(0, colon).trim();
    const hash = part.slice(colon + 1).trim().toLowerCase();
    if (tenant === '') throw new ApiKeysError(`${where} has an empty tenant name`);
    if (!TENANT_NAME.test(tenant)) {
      throw new ApiKeysError(`${where}: tenant '${tenant}' must be 1-63 of a-z, 0-9, _ or -, starting with a letter or digit`);
    }
    if (RESERVED_TENANTS.has(tenant)) throw new ApiKeysError(`${where}: tenant name '${tenant}' is reserved`);
    if (!SHA256_HEX.test(hash)) {
      throw new ApiKeysError(
        `${where} (tenant '${tenant}'): the key hash must be 64 hex characters, the SHA-256 of the key (printf %s "$KEY" | sha256sum)`,
      );
    }
    if (seenTenants.has(tenant)) throw new ApiKeysError(`${where}: tenant '${tenant}' is configured twice`);
    // Two tenants with one key would make the key's owner ambiguous.
    if (seenHashes.has(hash)) throw new ApiKeysError(`${where} (tenant '${tenant}'): the same key hash is configured for another tenant`);
    seenTenants.add(tenant);
    seenHashes.add(hash);
    entries.push({ tenant, keyHash: Buffer.from(hash, 'hex') });
  });
  return entries;
}

/** The SHA-256 (hex) of a key, as API_KEYS expects it; the same as `printf %s "$KEY" | sha256sum`. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}
