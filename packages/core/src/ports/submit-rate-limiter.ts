/** The outcome of counting one submit against a tenant's rate, with what the RateLimit-* headers say. */
export interface RateLimitDecision {
  allowed: boolean;
  /** Submits allowed per window. */
  limit: number;
  /** Submits left in the current window (0 when refused). */
  remaining: number;
  /** Until the window resets (and, when refused, until a submit may succeed). */
  resetMs: number;
}

/** Counts submits per tenant over a shared store, so every API process sees the same count. */
export interface SubmitRateLimiter {
  consume(tenant: string): Promise<RateLimitDecision>;
}
