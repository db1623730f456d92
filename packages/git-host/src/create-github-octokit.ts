import { createAppAuth } from '@octokit/auth-app';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import type { Logger } from '@tinyb/core';

/** A GitHub App's own identity: the Octokit then signs a short-lived JWT per request (only app routes accept it). */
export interface GitHubAppIdentity {
  appId: number | string;
  /** PEM text, as `loadGitHubAppPrivateKey` returns it. */
  privateKey: string;
}

/** Either a token (personal, or an app installation's) or the app itself. */
export type GitHubOctokitOptions = GitHubOctokitSettings & ({ token: string; app?: undefined } | { app: GitHubAppIdentity; token?: undefined });

/** Everything but the credential: the same for every Octokit the worker builds. */
export interface GitHubOctokitSettings {
  /** REST base URL: `https://api.github.com`, or `https://<host>/api/v3` for GitHub Enterprise and the fake. */
  apiUrl: string;
  /** Retries of failed requests (5xx, 429, network) by @octokit/plugin-retry; 3 retries, 1000 ms base unless given. */
  retry?: { retries?: number; retryAfterBaseValueMs?: number };
  /**
   * @octokit/plugin-throttling; on unless `enabled: false`. It spaces writes 1000 ms apart as GitHub asks,
   * which is right in production and far too slow for tests.
   */
  throttle?: {
    enabled?: boolean;
    /** How many times one request may wait out a rate limit before failing; 2 unless given. */
    maxRateLimitRetries?: number;
    /** What one second of GitHub's `retry-after` is worth; 1000 ms unless given (tests shrink it). */
    retryAfterBaseValueMs?: number;
  };
  logger: Logger;
}

const GitHubOctokit = Octokit.plugin(retry, throttling);
export type GitHubOctokit = InstanceType<typeof GitHubOctokit>;

/** Codes that another attempt cannot fix. Only `retry.doNotRetry` (never `request.retries`, which retries even these) sets this. */
const DO_NOT_RETRY = [400, 401, 403, 404, 410, 422, 451];

/** An Octokit with bounded retries and GitHub's rate-limit etiquette, logging through the project's logger. */
export function createGitHubOctokit(opts: GitHubOctokitOptions): GitHubOctokit {
  const logger = opts.logger.child({ component: 'octokit' });
  const maxRateLimitRetries = opts.throttle?.maxRateLimitRetries ?? 2;
  const onLimit =
    (kind: 'primary' | 'secondary') =>
    (retryAfterS: number, options: { method: string; url: string }, _octokit: unknown, retryCount: number): boolean => {
      // Returning true makes the plugin wait `retryAfterS` and try again; bounded so a job cannot stall for hours.
      const willRetry = retryCount < maxRateLimitRetries;
      logger.warn({ kind, retryAfterS, method: options.method, route: options.url, retryCount, willRetry }, 'github rate limit hit');
      return willRetry;
    };
  // @octokit/auth-app's hook signs an RS256 JWT (universal-github-app-jwt) for the app routes it knows
  // (`/repos/{o}/{r}/installation`, `/app/installations/{id}/access_tokens`, …) and retries once on clock skew.
  const auth = opts.app === undefined ? { auth: opts.token } : { authStrategy: createAppAuth, auth: { appId: opts.app.appId, privateKey: opts.app.privateKey } };
  return new GitHubOctokit({
    ...auth,
    baseUrl: opts.apiUrl.replace(/\/+$/, ''),
    userAgent: 'tiny-backspace',
    retry: {
      retries: opts.retry?.retries ?? 3,
      retryAfterBaseValue: opts.retry?.retryAfterBaseValueMs ?? 1000,
      doNotRetry: DO_NOT_RETRY,
    },
    throttle: {
      enabled: opts.throttle?.enabled ?? true,
      retryAfterBaseValue: opts.throttle?.retryAfterBaseValueMs ?? 1000,
      onRateLimit: onLimit('primary'),
      onSecondaryRateLimit: onLimit('secondary'),
    },
    // Octokit would print to the console otherwise; its messages carry no credentials (headers are not logged).
    log: {
      debug: () => {},
      info: () => {},
      warn: (message: string) => logger.warn({ detail: message }, 'octokit warning'),
      error: (message: string) => logger.error({ detail: message }, 'octokit error'),
    },
  });
}
