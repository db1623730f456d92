import { AppError } from '@tinyb/core';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { truncateText } from '../truncate-text.js';

/**
 * A failed model request (after the client's own retries) as `agent_failed`. Retryable when trying the job
 * again later may well succeed: rate limits, server errors, an unreachable or slow endpoint. Other 4xx (a bad
 * key, an unknown model, a request the server refuses) will fail the same way every time. Aborts are not
 * handled here: the caller knows why it aborted.
 */
export function modelRequestError(err: unknown, requestTimeoutMs: number): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof APIConnectionTimeoutError) {
    return new AppError('agent_failed', `the model API did not answer within ${requestTimeoutMs} ms`, { retryable: true, cause: err });
  }
  if (err instanceof APIConnectionError) {
    return new AppError('agent_failed', `could not reach the model API: ${detail(err)}`, { retryable: true, cause: err });
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const retryable = err.status === 429 || err.status >= 500;
    return new AppError('agent_failed', `the model API answered HTTP ${err.status}: ${detail(err)}`, { retryable, cause: err });
  }
  // A stream cut off mid-way, or a body that is not what the API promises: a flaky server or gateway.
  return new AppError('agent_failed', `the model request failed: ${detail(err)}`, { retryable: true, cause: err });
}

function detail(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return truncateText(message + cause, 1000);
}
