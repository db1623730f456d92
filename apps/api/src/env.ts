import { z } from 'zod';
import { commonEnv, intFromEnv, parseEnv } from '@tinyb/runtime';

const ApiEnv = z.object({
  ...commonEnv,
  PORT: intFromEnv.min(0).max(65535).default(8000),
  HOST: z.string().default('0.0.0.0'),
  /** When set, /api, /code and /admin require `Authorization: Bearer <API_TOKEN>`. */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The agent of a job that names none. The agents offered are those the workers advertise. */
  DEFAULT_AGENT: z.string().default('claude-code'),
  JOB_ATTEMPTS: intFromEnv.min(1).max(10).default(3),
  /** First retry delay; it doubles with each further attempt. */
  JOB_BACKOFF_MS: intFromEnv.min(0).default(15_000),
  SSE_HEARTBEAT_MS: intFromEnv.positive().default(15_000),
  /**
   * The longest a request waits for one Redis command. The API's connection queues nothing while Redis is
   * away, so this only bounds a Redis that is connected but silent (paused, partitioned); past it: 503.
   */
  REDIS_COMMAND_TIMEOUT_MS: intFromEnv.positive().default(1_000),
});
export type ApiEnv = z.infer<typeof ApiEnv>;

export function loadApiEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  return parseEnv(ApiEnv, env);
}
