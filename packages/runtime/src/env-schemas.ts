import { z } from 'zod';

/** Env helpers shared by the apps' env modules, so both read the same variables the same way. */
export const booleanFromEnv = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const intFromEnv = z.coerce.number().int();

export const commonEnv = {
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_PRETTY: booleanFromEnv.optional(),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  /**
   * A Redis Cluster's nodes (`host:port,host:port`; some masters are enough, the rest are discovered). Set:
   * every connection is a cluster connection, with the credentials and TLS of REDIS_URL (its host is then
   * unused) or REDIS_PASSWORD, and REDIS_PREFIX is wrapped in a hash tag (`tinyb` → `{tinyb}`).
   */
  REDIS_CLUSTER_NODES: z.string().default(''),
  /** Overrides the password of REDIS_URL, so a Secret can hold it apart from the address. */
  REDIS_PASSWORD: z.string().optional(),
  /** Key prefix for everything Tiny Backspace stores in Redis (queues and event logs). */
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:{}_-]+$/).default('tinyb'),
  /** How long a starting process waits for Redis before giving up (its supervisor restarts it). */
  REDIS_STARTUP_TIMEOUT_MS: intFromEnv.positive().default(30_000),
  GITHUB_URL: z.string().url().default('https://github.com'),
  EVENTS_RETENTION_MS: intFromEnv.positive().default(24 * 60 * 60 * 1000),
};
