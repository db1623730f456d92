import { createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto';

/**
 * The GitHub App half of the fake GitHub: app JWT verification (RS256 against the app's public key, as
 * GitHub does), installations per account, and installation access tokens that are scoped to repositories
 * and permissions and that expire. It holds state only; the HTTP routes live in fake-github.ts.
 */

export interface FakeGitHubAppOptions {
  /** The App ID: a JWT's `iss` must equal it (as a number or a string, like GitHub accepts). */
  id: number;
  /** The app's slug; commits made with its installation tokens are authored by `<slug>[bot]`. */
  slug: string;
  /** SPKI or PKCS#1 PEM of the public half of the app's key; JWTs signed by anything else are refused. */
  publicKeyPem: string;
  /** What every installation of the app may grant; `contents`, `pull_requests` write and `metadata` read unless given. */
  permissions?: Record<string, 'read' | 'write'>;
  /** Lifetime of a minted installation token; 3,600,000 ms (GitHub's hour) unless given. */
  installationTokenTtlMs?: number;
}

/** One `POST /app/installations/:id/access_tokens` as the fake received it (after JWT verification). */
export interface FakeAccessTokenRequest {
  installationId: number;
  /** The `repositories` field as sent; absent when the request asked for every repository of the installation. */
  repositories?: unknown;
  /** The `permissions` field as sent; absent when the request asked for all of the installation's permissions. */
  permissions?: unknown;
  /** What the fake answered: 201, or the 4xx it refused with. */
  status: number;
}

/** A token the fake minted. Tests read `token` only to check that it never leaked anywhere. */
export interface FakeInstallationToken {
  token: string;
  installationId: number;
  /** Lower-cased `owner/name` of each repository the token may touch; `undefined` means all of the installation's. */
  repositories?: string[];
  permissions: Record<string, 'read' | 'write'>;
  expiresAt: string;
}

export interface FakeInstallation {
  id: number;
  account: string;
  /** `all`, or the lower-cased names of the selected repositories. */
  selection: 'all' | Set<string>;
}

export type JwtCheck = { ok: true } | { ok: false; message: string };

const DEFAULT_PERMISSIONS: Record<string, 'read' | 'write'> = { contents: 'write', pull_requests: 'write', metadata: 'read' };
/** GitHub refuses app JWTs that live longer than ten minutes; a little clock skew is tolerated either way. */
const MAX_JWT_LIFETIME_S = 600;
const CLOCK_SKEW_S = 60;

export class FakeGitHubApp {
  readonly id: number;
  readonly slug: string;
  readonly permissions: Record<string, 'read' | 'write'>;
  readonly accessTokenRequests: FakeAccessTokenRequest[] = [];
  private readonly publicKey: KeyObject;
  private readonly ttlMs: number;
  private readonly installations = new Map<string, FakeInstallation>();
  private readonly tokens = new Map<string, FakeInstallationToken>();
  private nextInstallationId = 41_000;

  constructor(opts: FakeGitHubAppOptions) {
    this.id = opts.id;
    this.slug = opts.slug;
    this.permissions = { ...(opts.permissions ?? DEFAULT_PERMISSIONS), metadata: 'read' };
    this.publicKey = createPublicKey(opts.publicKeyPem);
    this.ttlMs = opts.installationTokenTtlMs ?? 3_600_000;
  }

  /** The identity GitHub gives commits made through the API with one of this app's installation tokens. */
  get botIdentity(): { name: string; email: string } {
    const name = `${this.slug}[bot]`;
    return { name, email: `${100_000 + this.id}+${name}@users.noreply.github.com` };
  }

  /**
   * Installs the app on `owner`'s account: on every repository, or (with `repo`) on that one added to the
   * selection. Returns the installation id.
   */
  install(owner: string, repo?: string): number {
    const key = owner.toLowerCase();
    let installation = this.installations.get(key);
    if (installation === undefined) {
      installation = { id: this.nextInstallationId++, account: owner, selection: repo === undefined ? 'all' : new Set() };
      this.installations.set(key, installation);
    }
    if (repo === undefined) installation.selection = 'all';
    else if (installation.selection !== 'all') installation.selection.add(repo.toLowerCase());
    return installation.id;
  }

  installationForRepo(owner: string, name: string): FakeInstallation | undefined {
    const installation = this.installations.get(owner.toLowerCase());
    if (installation === undefined) return undefined;
    return installation.selection === 'all' || installation.selection.has(name.toLowerCase()) ? installation : undefined;
  }

  installationById(id: number): FakeInstallation | undefined {
    return [...this.installations.values()].find((i) => i.id === id);
  }

  /** Verifies an app JWT as GitHub does: RS256 signature by the app's key, `iss`, and a sane `iat`/`exp` window. */
  verifyJwt(jwt: string, nowMs = Date.now()): JwtCheck {
    const undecodable: JwtCheck = { ok: false, message: 'A JSON web token could not be decoded' };
    const parts = jwt.split('.');
    if (parts.length !== 3) return undecodable;
    const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    const header = parseJsonSegment(headerPart);
    const payload = parseJsonSegment(payloadPart);
    if (header === undefined || payload === undefined || Reflect.get(header, 'alg') !== 'RS256') return undecodable;
    const signed = verify('RSA-SHA256', Buffer.from(`${headerPart}.${payloadPart}`), this.publicKey, Buffer.from(signaturePart, 'base64url'));
    if (!signed) return undecodable;
    const iss: unknown = Reflect.get(payload, 'iss');
    if ((typeof iss !== 'number' && typeof iss !== 'string') || String(iss) !== String(this.id)) {
      return { ok: false, message: "'Issuer' claim ('iss') does not name this GitHub App" };
    }
    const iat: unknown = Reflect.get(payload, 'iat');
    const exp: unknown = Reflect.get(payload, 'exp');
    const nowS = Math.floor(nowMs / 1000);
    if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > nowS + CLOCK_SKEW_S) {
      return { ok: false, message: "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued" };
    }
    if (typeof exp !== 'number' || exp <= nowS) {
      return { ok: false, message: "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires" };
    }
    if (exp > nowS + MAX_JWT_LIFETIME_S + CLOCK_SKEW_S || exp - iat > MAX_JWT_LIFETIME_S + CLOCK_SKEW_S) {
      return { ok: false, message: "'Expiration time' claim ('exp') is too far in the future" };
    }
    return { ok: true };
  }

  /**
   * Mints a token for `installation` as `POST /app/installations/:id/access_tokens` asks: only repositories
   * the installation covers (and that exist), only permissions it was granted. Returns the 4xx message otherwise.
   */
  mint(
    installation: FakeInstallation,
    body: { repositories?: unknown; permissions?: unknown },
    repoExists: (owner: string, name: string) => boolean,
  ): { token: FakeInstallationToken } | { status: number; message: string } {
    let repositories: string[] | undefined;
    if (body.repositories !== undefined) {
      if (!Array.isArray(body.repositories) || body.repositories.some((r) => typeof r !== 'string')) {
        return { status: 422, message: 'repositories must be an array of repository names' };
      }
      const names = body.repositories as string[];
      const inaccessible = names.some((name) => !repoExists(installation.account, name) || this.installationForRepo(installation.account, name) === undefined);
      if (inaccessible) return { status: 422, message: 'There is at least one repository that does not exist or is not accessible to the parent installation.' };
      repositories = names.map((name) => `${installation.account}/${name}`.toLowerCase());
    }
    let permissions: Record<string, 'read' | 'write'> = { ...this.permissions };
    if (body.permissions !== undefined) {
      if (typeof body.permissions !== 'object' || body.permissions === null || Array.isArray(body.permissions)) {
        return { status: 422, message: 'permissions must be an object' };
      }
      permissions = { metadata: 'read' };
      for (const [name, level] of Object.entries(body.permissions)) {
        const granted = this.permissions[name];
        if ((level !== 'read' && level !== 'write') || granted === undefined || (level === 'write' && granted !== 'write')) {
          return { status: 422, message: 'The permissions requested are not granted to this installation.' };
        }
        permissions[name] = level;
      }
    }
    const token: FakeInstallationToken = {
      // GitHub's installation tokens start with ghs_; the shape lets generic secret scanners recognise them.
      token: `ghs_${randomBytes(18).toString('hex')}`,
      installationId: installation.id,
      ...(repositories === undefined ? {} : { repositories }),
      permissions,
      // GitHub reports whole seconds.
      expiresAt: new Date(Math.floor((Date.now() + this.ttlMs) / 1000) * 1000).toISOString(),
    };
    this.tokens.set(token.token, token);
    return { token };
  }

  /** The minted token with this value, expired or not; `undefined` for anything the fake never issued. */
  findToken(value: string): FakeInstallationToken | undefined {
    return this.tokens.get(value);
  }

  /**
   * Why `token` may not do `level` on `permission` of `owner/name`, or `undefined` when it may. An expired
   * token is `expired` (HTTP 401); a token for other repositories or without the permission is `forbidden` (403).
   */
  refusal(token: FakeInstallationToken, owner: string, name: string, permission: string, level: 'read' | 'write'): 'expired' | 'forbidden' | undefined {
    if (Date.parse(token.expiresAt) <= Date.now()) return 'expired';
    const installation = this.installationById(token.installationId);
    if (installation === undefined || installation.account.toLowerCase() !== owner.toLowerCase()) return 'forbidden';
    if (this.installationForRepo(owner, name) === undefined) return 'forbidden';
    if (token.repositories !== undefined && !token.repositories.includes(`${owner}/${name}`.toLowerCase())) return 'forbidden';
    const granted = token.permissions[permission];
    if (granted === undefined || (level === 'write' && granted !== 'write')) return 'forbidden';
    return undefined;
  }

  /** Snapshot of every token minted so far, oldest first. */
  mintedTokens(): FakeInstallationToken[] {
    return [...this.tokens.values()].map((t) => ({ ...t, permissions: { ...t.permissions }, ...(t.repositories === undefined ? {} : { repositories: [...t.repositories] }) }));
  }

  /** Makes every token minted so far expire now, as if an hour had passed (or they were revoked). */
  expireTokens(): void {
    const past = new Date(Date.now() - 1000).toISOString();
    for (const token of this.tokens.values()) token.expiresAt = past;
  }
}

/** Whether an Authorization value looks like a JWT (three base64url segments, a JSON header) rather than a token. */
export function looksLikeJwt(value: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

function parseJsonSegment(segment: string): object | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
