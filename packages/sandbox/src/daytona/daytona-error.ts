import {
  DaytonaAuthenticationError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaFileAccessDeniedError,
  DaytonaForbiddenError,
  DaytonaTimeoutError,
} from '@daytonaio/sdk';
import { AppError } from '@tinyb/core';

/** What was being done when Daytona failed; `create` decides whether a refused request is the operator's configuration. */
export type DaytonaOperation = 'create' | 'exec' | 'read' | 'write' | 'destroy' | 'list' | 'prepare' | 'relabel';

const maxMessageChars = 300;

/**
 * The one place where Daytona's errors become the domain's. Policy:
 * - 401/403 (bad key, no permission, quota refused): `sandbox_unavailable`, not retryable: another attempt
 *   would fail the same way until an operator acts;
 * - 5xx, 408, 429, timeouts and connection failures: `sandbox_failed`, retryable: a blip of the service;
 * - 404/410 (the sandbox or session vanished, e.g. auto-deleted): `sandbox_failed`, retryable in a new sandbox;
 * - any other 4xx: on `create`, the service refused our parameters (an unknown snapshot, limits too high):
 *   `sandbox_unavailable`; elsewhere `sandbox_failed`; neither retryable.
 * Destroy's 404 is not an error at all; the caller checks `isNotFound` first.
 * Messages carry Daytona's message and status only: never request bodies or headers, where secrets live.
 */
export function toSandboxError(err: unknown, operation: DaytonaOperation): AppError {
  if (err instanceof AppError) return err;
  const message = `Daytona ${operation} failed: ${describe(err)}`;
  if (!(err instanceof DaytonaError)) {
    return new AppError('sandbox_failed', message, { retryable: true, cause: err });
  }
  const status = err.statusCode;
  if (err instanceof DaytonaFileAccessDeniedError) {
    return new AppError('sandbox_failed', message, { retryable: false, cause: err });
  }
  if (err instanceof DaytonaAuthenticationError || err instanceof DaytonaForbiddenError || status === 401 || status === 403) {
    return new AppError('sandbox_unavailable', message, { retryable: false, cause: err });
  }
  if (
    err instanceof DaytonaTimeoutError ||
    err instanceof DaytonaConnectionError ||
    status === undefined ||
    status >= 500 ||
    status === 408 ||
    status === 429 ||
    status === 404 ||
    status === 410
  ) {
    return new AppError('sandbox_failed', message, { retryable: true, cause: err });
  }
  return new AppError(operation === 'create' ? 'sandbox_unavailable' : 'sandbox_failed', message, { retryable: false, cause: err });
}

/** A 404 from the API: the sandbox (or session) is already gone. */
export function isNotFound(err: unknown): boolean {
  return err instanceof DaytonaError && err.statusCode === 404;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const status = err instanceof DaytonaError && err.statusCode !== undefined ? ` (HTTP ${err.statusCode})` : '';
  const short = text.length > maxMessageChars ? `${text.slice(0, maxMessageChars)}…` : text;
  return `${short}${status}`;
}
