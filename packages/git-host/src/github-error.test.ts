import { AppError, CancelledError } from '@tinyb/core';
import { isAlreadyExists, toGitHostError } from './github-error.js';

/** Shaped like Octokit's RequestError (name HttpError, numeric status, response with headers). */
function httpError(status: number, message: string, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), {
    name: 'HttpError',
    status,
    response: { status, headers, data: {} },
    request: { headers: { authorization: 'token ghp_shouldNeverLeak0000000000' } },
  });
}

const token = 'ghp_shouldNeverLeak0000000000';
const ctx = { operation: 'repos.get', signal: new AbortController().signal, secrets: [token] };

describe('toGitHostError', () => {
  it.each([
    [401, 'repo_access_denied', false],
    [403, 'repo_access_denied', false],
    [404, 'repo_not_found', false],
    [422, 'git_host_failed', false],
    [400, 'git_host_failed', false],
    [429, 'git_host_failed', true],
    [500, 'git_host_failed', true],
    [502, 'git_host_failed', true],
    [503, 'git_host_failed', true],
  ] as const)('maps HTTP %i to %s (retryable %s)', (status, code, retryable) => {
    const err = toGitHostError(httpError(status, 'boom'), ctx);
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
  });

  it('treats a 403 that is a rate limit as retryable, not as denied access', () => {
    const err = toGitHostError(httpError(403, 'API rate limit exceeded', { 'x-ratelimit-remaining': '0' }), ctx);
    expect(err.code).toBe('git_host_failed');
    expect(err.retryable).toBe(true);
  });

  it('treats errors without a status (network) as retryable', () => {
    const err = toGitHostError(new TypeError('fetch failed'), ctx);
    expect(err.code).toBe('git_host_failed');
    expect(err.retryable).toBe(true);
  });

  it('keeps the token out of the message and attaches no cause', () => {
    const err = toGitHostError(httpError(401, `Bad credentials for token ${token}`), ctx);
    expect(err.message).not.toContain(token);
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(err)).not.toContain(token);
  });

  it('reports cancellation when the signal was aborted, whatever the failure', () => {
    const controller = new AbortController();
    controller.abort();
    const err = toGitHostError(httpError(500, 'aborted'), { ...ctx, signal: controller.signal });
    expect(err).toBeInstanceOf(CancelledError);
  });

  it('passes AppErrors through', () => {
    const original = new AppError('branch_not_found', 'no such branch');
    expect(toGitHostError(original, ctx)).toBe(original);
  });
});

describe('isAlreadyExists', () => {
  it('recognises GitHub duplicate messages on 422 only', () => {
    expect(isAlreadyExists(httpError(422, 'Reference already exists - https://docs.github.com/rest'))).toBe(true);
    expect(isAlreadyExists(httpError(422, 'Validation Failed: {"message":"A pull request already exists for o:b."}'))).toBe(true);
    expect(isAlreadyExists(httpError(422, 'Validation Failed: {"field":"head","code":"invalid"}'))).toBe(false);
    expect(isAlreadyExists(httpError(409, 'already exists'))).toBe(false);
  });
});
