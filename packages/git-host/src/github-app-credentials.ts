import { createPrivateKey } from 'node:crypto';
import { AppError, throwIfAborted, type Logger, type RepoCoordinates } from '@tinyb/core';
import { createGitHubOctokit, type GitHubOctokit, type GitHubOctokitSettings } from './create-github-octokit.js';
import type { GitHubCredentials, RepoCredentials } from './github-credentials.js';
import { asHttpError, toGitHostError } from './github-error.js';
import { redactSecrets } from './redact-secrets.js';

export interface GitHubAppCredentialsOptions extends GitHubOctokitSettings {
  /** GITHUB_APP_ID. */
  appId: number | string;
  /** PEM text of the app's private key, as `loadGitHubAppPrivateKey` returns it. */
  privateKey: string;
  /**
   * A cached installation token is handed out until this long before its `expires_at`; 300,000 ms (5 min)
   * unless given. It must outlast the longest single GitHost call (a clone, one commit's blob uploads).
   */
  refreshBeforeExpiryMs?: number;
  /**
   * Called with each installation token as soon as it is minted, before it is used or logged anywhere: the
   * worker registers it with its redactor (`redactor.add`), so the token is removed from events and logs.
   */
  onToken?: (token: string) => void;
  /**
   * What each installation token asks for: INSTALLATION_TOKEN_PERMISSIONS (a code job's) unless given. The
   * GitHub triggers ask for `issues` and `pull_requests` instead: they comment and react, and never push.
   */
  permissions?: Readonly<Record<string, 'read' | 'write'>>;
}

/**
 * What every installation token asks for, and no more: write the Git data (blobs, trees, commits, refs) and
 * open pull requests. `metadata: read` comes with any installation token.
 */
export const INSTALLATION_TOKEN_PERMISSIONS = { contents: 'write', pull_requests: 'write' } as const;

interface CachedToken {
  repoKey: string;
  credentials: RepoCredentials;
  expiresAtMs: number;
}

/**
 * Credentials of a GitHub App: per job and repository, an installation token scoped to that one repository
 * with INSTALLATION_TOKEN_PERMISSIONS, minted with the app's JWT (`GET /repos/{o}/{r}/installation`, then
 * `POST /app/installations/{id}/access_tokens`).
 *
 * "Per job" without a job id in the GitHost interface: every call of one job attempt carries that attempt's
 * AbortSignal, so tokens are cached in a WeakMap keyed by it. Two jobs never share a token, and a token is
 * unreachable (and collected) once its job's signal is. Within a job a token is dropped
 * `refreshBeforeExpiryMs` before it expires (or when GitHub refuses one), so a job that touches its repository
 * at the start and again after a long agent run mints at most twice. Tokens live in memory only. Commits
 * made with them are GitHub's to attribute: the app's `<slug>[bot]`.
 */
export class GitHubAppCredentials implements GitHubCredentials {
  private readonly appId: string;
  private readonly appOctokit: GitHubOctokit;
  private readonly settings: GitHubOctokitSettings;
  private readonly refreshBeforeExpiryMs: number;
  private readonly logger: Logger;
  private readonly onToken: (token: string) => void;
  private readonly permissions: Readonly<Record<string, 'read' | 'write'>>;
  private readonly cacheByJob = new WeakMap<AbortSignal, Map<string, CachedToken>>();
  /** Tokens GitHub refused, by repo; bounded by how many tokens are ever refused, which is rare. */
  private readonly refused = new Set<string>();

  constructor(opts: GitHubAppCredentialsOptions) {
    const { appId, privateKey, refreshBeforeExpiryMs, onToken, permissions, ...settings } = opts;
    this.onToken = onToken ?? (() => undefined);
    this.permissions = permissions ?? INSTALLATION_TOKEN_PERMISSIONS;
    this.appId = String(appId);
    if (!/^\d+$/.test(this.appId)) throw new Error('GitHub App id (GITHUB_APP_ID) must be a number');
    // Checked here so a broken key stops the worker at start, not each job at its first GitHub call.
    assertRsaPrivateKey(privateKey);
    this.settings = settings;
    this.refreshBeforeExpiryMs = refreshBeforeExpiryMs ?? 300_000;
    this.logger = opts.logger.child({ component: 'github-app-credentials', appId: this.appId });
    this.appOctokit = createGitHubOctokit({ ...settings, app: { appId: this.appId, privateKey } });
  }

  async forRepo(repo: RepoCoordinates, signal: AbortSignal): Promise<RepoCredentials> {
    throwIfAborted(signal);
    let cache = this.cacheByJob.get(signal);
    if (cache === undefined) {
      cache = new Map();
      this.cacheByJob.set(signal, cache);
    }
    const now = Date.now();
    for (const [key, entry] of cache) if (!this.usable(entry, now)) cache.delete(key);
    const key = repoKey(repo);
    const cached = cache.get(key);
    if (cached !== undefined) return cached.credentials;
    const minted = await this.mint(repo, signal);
    cache.set(key, minted);
    return minted.credentials;
  }

  invalidate(repo: RepoCoordinates, token: string): boolean {
    // A refused token is dropped from whichever job holds it; that job's next forRepo mints afresh, which is
    // worth one more try (GitHub may also not yet know a brand-new token). WeakMaps cannot be walked, so the
    // token is remembered as refused instead.
    this.refused.add(`${repoKey(repo)} ${token}`);
    return true;
  }

  private usable(entry: CachedToken, now: number): boolean {
    return entry.expiresAtMs - this.refreshBeforeExpiryMs > now && !this.refused.has(`${entry.repoKey} ${entry.credentials.token}`);
  }

  private async mint(repo: RepoCoordinates, signal: AbortSignal): Promise<CachedToken> {
    const where = `${repo.owner}/${repo.name}`;
    let installationId: number;
    try {
      const { data } = await this.appOctokit.rest.apps.getRepoInstallation({ owner: repo.owner, repo: repo.name, request: { signal } });
      installationId = data.id;
    } catch (err) {
      const status = signal.aborted ? undefined : asHttpError(err)?.status;
      if (status === 404) {
        throw new AppError(
          'repo_access_denied',
          `GitHub App ${this.appId} is not installed on ${where} (or the repository does not exist): install the app on the repository's account and give it access to ${where}`,
        );
      }
      throw this.failure('apps.getRepoInstallation', err, signal);
    }

    let data: { token: string; expires_at: string };
    try {
      ({ data } = await this.appOctokit.rest.apps.createInstallationAccessToken({
        installation_id: installationId,
        repositories: [repo.name],
        permissions: { ...this.permissions },
        request: { signal },
      }));
    } catch (err) {
      const http = signal.aborted ? undefined : asHttpError(err);
      if (http !== undefined && (http.status === 403 || http.status === 404 || http.status === 422)) {
        throw new AppError(
          'repo_access_denied',
          redactSecrets(
            `GitHub App ${this.appId} could not get a token for ${where} with ${describePermissions(this.permissions)} (HTTP ${http.status}: ${http.message}): grant the app these permissions and accept them on the installation`,
            [],
          ),
        );
      }
      throw this.failure('apps.createInstallationAccessToken', err, signal);
    }

    this.onToken(data.token);
    const expiresAtMs = Date.parse(data.expires_at);
    if (!Number.isFinite(expiresAtMs)) {
      throw new AppError('git_host_failed', `GitHub returned an installation token for ${where} without a valid expires_at`, { retryable: true });
    }
    this.logger.info({ owner: repo.owner, repo: repo.name, installationId, expiresAt: data.expires_at }, 'github app installation token minted');
    return { repoKey: repoKey(repo), credentials: { token: data.token, octokit: createGitHubOctokit({ ...this.settings, token: data.token }) }, expiresAtMs };
  }

  /** Bad credentials on an app route mean the JWT was refused: the id or the key is wrong, which no retry fixes. */
  private failure(operation: string, err: unknown, signal: AbortSignal): AppError {
    const http = signal.aborted ? undefined : asHttpError(err);
    if (http?.status === 401) {
      return new AppError(
        'repo_access_denied',
        redactSecrets(`GitHub refused the JWT of GitHub App ${this.appId} on ${operation} (HTTP 401: ${http.message}): check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY`, []),
      );
    }
    return toGitHostError(err, { operation, signal, secrets: [] });
  }
}

function describePermissions(permissions: Readonly<Record<string, string>>): string {
  return Object.entries(permissions)
    .map(([name, level]) => `${name}:${level}`)
    .join(' and ');
}

function repoKey(repo: RepoCoordinates): string {
  return `${repo.owner}/${repo.name}`.toLowerCase();
}

/** Throws a message that never contains the key when `pem` is not an RSA private key. */
function assertRsaPrivateKey(pem: string): void {
  let type: string | undefined;
  try {
    type = createPrivateKey(pem).asymmetricKeyType;
  } catch {
    throw new Error('GitHub App private key (GITHUB_APP_PRIVATE_KEY) is not a readable PEM private key; load it with loadGitHubAppPrivateKey');
  }
  if (type !== 'rsa') throw new Error(`GitHub App private key (GITHUB_APP_PRIVATE_KEY) must be an RSA key, not ${String(type)}`);
}
