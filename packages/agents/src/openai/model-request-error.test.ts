import { AppError } from '@tinyb/core';
import { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import { modelRequestError } from './model-request-error.js';

const httpError = (status: number) => APIError.generate(status, { error: { message: `fake ${status}` } }, undefined, new Headers());

describe('modelRequestError', () => {
  it.each([
    [429, true],
    [500, true],
    [503, true],
    [400, false],
    [401, false],
    [403, false],
    [404, false],
    [422, false],
  ])('HTTP %i → agent_failed, retryable %s', (status, retryable) => {
    expect(modelRequestError(httpError(status), 1000)).toMatchObject({ code: 'agent_failed', retryable, message: expect.stringContaining(`HTTP ${status}`) });
  });

  it('network failures and timeouts are retryable', () => {
    expect(modelRequestError(new APIConnectionError({ cause: new Error('ECONNREFUSED') }), 1000)).toMatchObject({
      code: 'agent_failed',
      retryable: true,
      message: expect.stringContaining('ECONNREFUSED'),
    });
    expect(modelRequestError(new APIConnectionTimeoutError(), 2500)).toMatchObject({ retryable: true, message: expect.stringContaining('2500 ms') });
  });

  it('keeps AppErrors and treats anything else as a flaky response', () => {
    const own = new AppError('budget_exceeded', 'spent');
    expect(modelRequestError(own, 1)).toBe(own);
    expect(modelRequestError(new SyntaxError('Unexpected end of JSON input'), 1)).toMatchObject({ code: 'agent_failed', retryable: true });
  });
});
