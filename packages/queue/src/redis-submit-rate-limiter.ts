import type { RedisClient } from './redis-target.js';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitDecision, SubmitRateLimiter } from '@tinyb/core';

export interface RedisSubmitRateLimiterDeps {
  /** A normal connection; the caller owns it. */
  redis: RedisClient;
  /** Namespace of the counters; default `tinyb`. */
  prefix?: string;
  /** Submits each tenant may make per minute (> 0). */
  submitsPerMinute: number;
}

const WINDOW_S = 60;

/**
 * Submits per tenant per minute, counted in Redis (rate-limiter-flexible's fixed window, one atomic
 * INCR per submit), so every API process shares one count. A refused submit still counts: a client that
 * hammers the API does not get its window back early.
 */
export class RedisSubmitRateLimiter implements SubmitRateLimiter {
  private readonly limiter: RateLimiterRedis;
  private readonly limit: number;

  constructor(deps: RedisSubmitRateLimiterDeps) {
    this.limit = deps.submitsPerMinute;
    this.limiter = new RateLimiterRedis({
      storeClient: deps.redis,
      keyPrefix: `${deps.prefix ?? 'tinyb'}:ratelimit:submit`,
      points: deps.submitsPerMinute,
      duration: WINDOW_S,
    });
  }

  async consume(tenant: string): Promise<RateLimitDecision> {
    try {
      const res = await this.limiter.consume(tenant, 1);
      return { allowed: true, limit: this.limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
    } catch (rejection) {
      // The library rejects with its result when over the limit, and with an Error when Redis fails.
      if (rejection instanceof RateLimiterRes) {
        return { allowed: false, limit: this.limit, remaining: 0, resetMs: rejection.msBeforeNext };
      }
      throw rejection;
    }
  }
}
