import { CodexEvent } from './codex-event.js';
import { codexErrorStatus, codexExitError } from './codex-exit-error.js';

const limits = { timeoutMs: 1_000 };
const ok = { exitCode: 0, timedOut: false, stderr: '' };
const completed = CodexEvent.parse({ type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } });
const failed = (message: string) => CodexEvent.parse({ type: 'turn.failed', error: { message } });

describe('codexExitError', () => {
  it('succeeds only with exit 0 after a completed turn', () => {
    expect(codexExitError(ok, [completed], limits)).toBeUndefined();
    expect(codexExitError(ok, [], limits)).toMatchObject({ code: 'agent_failed', retryable: false });
    expect(codexExitError({ ...ok, exitCode: 143 }, [completed], limits)).toMatchObject({ code: 'agent_failed' });
  });

  it('a timeout wins over whatever was printed', () => {
    expect(codexExitError({ ...ok, exitCode: 143, timedOut: true }, [completed], limits)).toMatchObject({ code: 'agent_timeout', message: expect.stringContaining('1000 ms') });
  });

  it('maps failed turns by the HTTP status in their words: 429 and 5xx retryable, 4xx not', () => {
    const exit = { ...ok, exitCode: 1 };
    expect(codexExitError(exit, [failed('We’re currently experiencing high demand, which may cause temporary errors.')], limits)).toMatchObject({
      code: 'agent_failed',
      retryable: true,
      message: expect.stringContaining('HTTP 500'),
    });
    expect(codexExitError(exit, [failed('exceeded retry limit, last status: 429 Too Many Requests, request id: x')], limits)).toMatchObject({ retryable: true, message: expect.stringContaining('HTTP 429') });
    expect(codexExitError(exit, [failed('unexpected status 502 Bad Gateway: upstream')], limits)).toMatchObject({ retryable: true });
    expect(codexExitError(exit, [failed('unexpected status 401 Unauthorized: fake 401, url: http://x/v1/responses')], limits)).toMatchObject({ retryable: false, message: expect.stringContaining('HTTP 401') });
    // A 400's raw body (the gateway's spent budget among them): no status, not retryable.
    expect(codexExitError(exit, [failed('{"error":{"code":"budget_exceeded","message":"the job\'s budget is spent"}}')], limits)).toMatchObject({ retryable: false });
    expect(codexExitError(exit, [failed('stream disconnected before completion: error sending request')], limits)).toMatchObject({ retryable: true });
  });

  it('a CLI that died without a turn says what stderr said', () => {
    const err = codexExitError({ exitCode: 1, timedOut: false, stderr: 'Reading additional input from stdin...\nError: Missing environment variable: `TINYB_MODEL_API_KEY`.\n' }, [], limits);
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('Missing environment variable') });
  });
});

describe('codexErrorStatus', () => {
  it('reads the status the CLI words', () => {
    expect(codexErrorStatus('unexpected status 404 Not Found: x')).toBe(404);
    expect(codexErrorStatus('exceeded retry limit, last status: 503 Service Unavailable')).toBe(503);
    expect(codexErrorStatus('model said: 12345')).toBeUndefined();
  });
});
