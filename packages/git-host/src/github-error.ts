import { AppError, abortReason } from '@tinyb/core';
import { redactSecrets } from './redact-secrets.js';

/** The parts of an Octokit `RequestError` this adapter reads, found by narrow checks (the class itself is a transitive dependency). */
export interface HttpErrorView {
  status: number;
  message: string;
  header(name: string): string | undefined;
}

/** Octokit's RequestError, or anything else shaped like an HTTP error with a numeric status. */
export function asHttpError(err: unknown): HttpErrorView | undefined {
  if (!(err instanceof Error)) return undefined;
  const status: unknown = Reflect.get(err, 'status');
  if (typeof status !== 'number') return undefined;
  const response: unknown = Reflect.get(err, 'response');
  const headers: unknown = typeof response === 'object' && response !== null ? Reflect.get(response, 'headers') : undefined;
  return {
    status,
    message: err.message,
    header(name) {
      if (typeof headers !== 'object' || headers === null) return undefined;
      const value: unknown = Reflect.get(headers, name.toLowerCase());
      return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
    },
  };
}

/** Whether `err` is a 422 whose message says the thing being created is already there (a ref, a pull request). */
export function isAlreadyExists(err: unknown): boolean {
  const http = asHttpError(err);
  return http !== undefined && http.status === 422 && /already exists/i.test(http.message);
}

/**
 * The single translation from Octokit failures to the project's errors. The thrown AppError carries a
 * redacted message and no `cause`: Octokit errors hold the request (headers, URL), which must not travel
 * into logs or job status.
 */
export function toGitHostError(err: unknown, ctx: { operation: string; signal: AbortSignal; secrets: readonly string[] }): AppError {
  if (ctx.signal.aborted) return abortReason(ctx.signal);
  if (err instanceof AppError) return err;
  const clean = (text: string): string => redactSecrets(text, ctx.secrets);
  const http = asHttpError(err);
  if (http === undefined) {
    const detail = err instanceof Error ? err.message : String(err);
    return new AppError('git_host_failed', clean(`GitHub ${ctx.operation} failed: ${detail}`), { retryable: true });
  }
  const message = clean(`GitHub ${ctx.operation} failed with HTTP ${http.status}: ${http.message}`);
  const status = http.status;
  if (status === 403 && (http.header('x-ratelimit-remaining') === '0' || http.header('retry-after') !== undefined)) {
    // A rate limit the throttling plugin gave up on: the credentials are fine, a later attempt will pass.
    return new AppError('git_host_failed', message, { retryable: true });
  }
  if (status === 401 || status === 403) return new AppError('repo_access_denied', message);
  if (status === 404) return new AppError('repo_not_found', message);
  // Octokit reports network failures (no response at all) as status 500.
  if (status >= 500 || status === 429 || status === 408 || status === 0) return new AppError('git_host_failed', message, { retryable: true });
  return new AppError('git_host_failed', message);
}
