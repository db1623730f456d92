import type { GeminiResultLine } from './gemini-stream-line.js';
import { geminiExitError, httpStatusFromExitCode, isRetryableHttpStatus } from './gemini-exit-error.js';

const limits = { maxTurns: 4, timeoutMs: 9_000 };
const exit = (exitCode: number, extra: { timedOut?: boolean; stderr?: string } = {}) => ({ exitCode, timedOut: false, stderr: '', ...extra });
const success: GeminiResultLine = { type: 'result', status: 'success', stats: { input_tokens: 1, output_tokens: 2 } };
const apiError = (message: string): GeminiResultLine => ({ type: 'result', status: 'error', error: { type: 'unknown', message } });

describe('httpStatusFromExitCode', () => {
  it.each([
    [144, 400],
    [145, 401],
    [147, 403],
    [148, 404],
    [152, 408],
    [173, 429],
    [244, 500],
    [246, 502],
    [247, 503],
    [248, 504],
    [255, 511],
  ])('exit code %i is HTTP %i (status & 0xFF)', (code, status) => {
    expect(httpStatusFromExitCode(code)).toBe(status);
    expect(status & 0xff).toBe(code);
  });

  it.each([0, 1, 41, 42, 52, 53, 130, 137, 143])('exit code %i is not an HTTP status', (code) => {
    expect(httpStatusFromExitCode(code)).toBeUndefined();
  });

  it('retries rate limits and server errors only', () => {
    expect([429, 500, 503, 529].map(isRetryableHttpStatus)).toEqual([true, true, true, true]);
    expect([400, 401, 403, 404, undefined].map(isRetryableHttpStatus)).toEqual([false, false, false, false, false]);
  });
});

describe('geminiExitError', () => {
  it('exit 0 with a success result is success', () => {
    expect(geminiExitError(exit(0), success, limits)).toBeUndefined();
  });

  it('exit 0 with an error result (invalid stream) is a failure', () => {
    const err = geminiExitError(exit(0), { type: 'result', status: 'error' }, limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false });
  });

  it('a success result with a non-zero exit code is a failure', () => {
    expect(geminiExitError(exit(1), success, limits)).toMatchObject({ code: 'agent_failed', retryable: false });
  });

  it('timed out: agent_timeout, whatever was printed', () => {
    expect(geminiExitError(exit(143, { timedOut: true }), success, limits)).toMatchObject({ code: 'agent_timeout', message: expect.stringContaining('9000 ms') });
  });

  it('exit 53: agent_max_turns', () => {
    const result: GeminiResultLine = { type: 'result', status: 'error', error: { type: 'FatalTurnLimitedError', message: 'Reached max session turns' } };
    expect(geminiExitError(exit(53), result, limits)).toMatchObject({ code: 'agent_max_turns', retryable: false, message: expect.stringContaining('4 turns') });
    expect(geminiExitError(exit(53), undefined, limits)).toMatchObject({ code: 'agent_max_turns' });
  });

  it.each([
    [41, 'authentication error'],
    [42, 'input error'],
    [52, 'configuration error'],
  ])('exit %i: agent_failed (%s), not retryable', (code, what) => {
    const err = geminiExitError(exit(code), { type: 'result', status: 'error', error: { type: 'FatalError', message: 'nope' } }, limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining(what) });
  });

  it.each([
    [244, 500, true],
    [247, 503, true],
    [173, 429, true],
    [144, 400, false],
    [145, 401, false],
    [147, 403, false],
  ])('exit %i after an API error: HTTP %i, retryable %s', (code, status, retryable) => {
    const err = geminiExitError(exit(code), apiError(`[API Error: {"error":{"code":${status}}}]`), limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable, message: expect.stringContaining(`HTTP ${status}`) });
  });

  it('a status the exit code cannot carry (529 → 17) is read from the quoted API error', () => {
    const err = geminiExitError(exit(529 & 0xff), apiError('[API Error: {"error":{"code":529,"message":"overloaded"}}]'), limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 529') });
  });

  it('killed by a signal without its own result: agent_failed, not read as an HTTP status', () => {
    const err = geminiExitError(exit(137, { stderr: 'a\nb\nKilled\n' }), undefined, limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('Killed') });
    expect(err?.message).toContain('without a result');
  });

  it('exit 1 with an error result: agent_failed with the CLI’s message', () => {
    const err = geminiExitError(exit(1), apiError('fetch failed'), limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('fetch failed') });
  });
});
