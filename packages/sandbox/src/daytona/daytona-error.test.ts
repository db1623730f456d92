import {
  DaytonaAuthenticationError,
  DaytonaBadRequestError,
  DaytonaConnectionError,
  DaytonaError,
  DaytonaFileAccessDeniedError,
  DaytonaForbiddenError,
  DaytonaInternalServerError,
  DaytonaNotFoundError,
  DaytonaRateLimitError,
  DaytonaTimeoutError,
} from '@daytonaio/sdk';
import { AppError } from '@tinyb/core';
import { isNotFound, toSandboxError } from './daytona-error.js';

describe('toSandboxError', () => {
  it.each([
    ['auth', new DaytonaAuthenticationError('bad key', 401), 'create', 'sandbox_unavailable', false],
    ['forbidden', new DaytonaForbiddenError('quota', 403), 'exec', 'sandbox_unavailable', false],
    ['file access denied', new DaytonaFileAccessDeniedError('denied', 403), 'read', 'sandbox_failed', false],
    ['5xx', new DaytonaInternalServerError('boom', 500), 'exec', 'sandbox_failed', true],
    ['503 by status only', new DaytonaError('unavailable', 503), 'create', 'sandbox_failed', true],
    ['timeout', new DaytonaTimeoutError('slow'), 'create', 'sandbox_failed', true],
    ['connection', new DaytonaConnectionError('ECONNREFUSED'), 'list', 'sandbox_failed', true],
    ['rate limit', new DaytonaRateLimitError('slow down', 429), 'exec', 'sandbox_failed', true],
    ['gone sandbox', new DaytonaNotFoundError('no sandbox', 404), 'exec', 'sandbox_failed', true],
    ['bad create params', new DaytonaBadRequestError('unknown snapshot', 400), 'create', 'sandbox_unavailable', false],
    ['bad exec request', new DaytonaBadRequestError('bad', 400), 'exec', 'sandbox_failed', false],
    ['unknown error', new Error('socket hang up'), 'exec', 'sandbox_failed', true],
  ] as const)('%s', (_name, err, operation, code, retryable) => {
    const mapped = toSandboxError(err, operation);
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped).toMatchObject({ code, retryable });
    expect(mapped.cause).toBe(err);
  });

  it('passes AppErrors through and keeps messages short', () => {
    const own = new AppError('cancelled', 'stop');
    expect(toSandboxError(own, 'exec')).toBe(own);
    expect(toSandboxError(new DaytonaError('x'.repeat(5000), 500), 'exec').message.length).toBeLessThan(400);
  });

  it('recognises 404s', () => {
    expect(isNotFound(new DaytonaNotFoundError('gone', 404))).toBe(true);
    expect(isNotFound(new DaytonaError('gone', 500))).toBe(false);
    expect(isNotFound(new Error('x'))).toBe(false);
  });
});
