import type { ErrorCode, Step } from '@tinyb/contracts';

/**
 * The one error type that crosses layers. `code` is stable and public; `retryable` is the policy:
 * a retryable error lets the queue try the job again, any other ends it. Adapters translate vendor
 * errors into these where they happen, so nothing above them inspects vendor error shapes.
 */
export class AppError extends Error {
  override readonly name: string = 'AppError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  step?: Step;

  constructor(code: ErrorCode, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}

/** The job was cancelled (by a client, or by the worker shutting down past its grace period). */
export class CancelledError extends AppError {
  override readonly name = 'CancelledError';
  constructor(message = 'job was cancelled') {
    super('cancelled', message);
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Any thrown value as an AppError; unknown errors become `internal` (retryable: a bug or a blip, worth one more try). */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AppError('internal', message, { retryable: true, cause: err });
}

/** Throws the signal's reason as a CancelledError when the signal is aborted. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

export function abortReason(signal: AbortSignal): AppError {
  const reason: unknown = signal.reason;
  return reason instanceof AppError ? reason : new CancelledError();
}
