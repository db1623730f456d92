import { AppError } from './errors.js';
import type { RateLimitDecision } from './ports/submit-rate-limiter.js';

/** A refused submit: carries the decision, so the HTTP edge can say when to try again (Retry-After, RateLimit-*). */
export class RateLimitedError extends AppError {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly decision: RateLimitDecision,
    message = `too many submits: at most ${decision.limit} per minute; retry in ${Math.ceil(decision.resetMs / 1000)} s`,
  ) {
    super('rate_limited', message, { retryable: true });
  }
}
