export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * Connection settings parsed from `REDIS_URL`, narrow on purpose: this shape is assignable both to
 * ioredis 6 `RedisOptions` (for `new Redis(opts)`) and to BullMQ's `ConnectionOptions`, which ioredis's own
 * `RedisOptions` is not (their `retryStrategy` types disagree).
 */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** Present for `rediss:` URLs; `servername` keeps SNI and certificate checks working. */
  tls?: { servername: string };
  /**
   * Always null: BullMQ refuses a Worker connection with any other value, and a command queued while Redis
   * is away should wait for it to come back rather than fail a job. Connections that must answer quickly
   * (the API's) add `createRedisConnection`'s `failFastAfterMs` instead.
   */
  maxRetriesPerRequest: null;
  /**
   * Delay before reconnect attempt `times` (1-based): 50 ms doubling up to 1 s, plus up to 100 ms of jitter so
   * a fleet does not reconnect in step. Capped low on purpose: ioredis' own default grows to 5 s and BullMQ's
   * to 20 s, so after a long outage a process could stay away that long after Redis is back. A refused connect
   * costs Redis nothing.
   */
  retryStrategy: (times: number) => number;
}

const MAX_RECONNECT_DELAY_MS = 1_000;

export function reconnectDelayMs(times: number): number {
  return Math.min(50 * 2 ** Math.max(0, times - 1), MAX_RECONNECT_DELAY_MS) + Math.floor(Math.random() * 100);
}

/**
 * Parses `redis[s]://[[user]:password@]host[:port][/db]`. Throws a message that never repeats the URL,
 * which may carry a password.
 */
export function redisConnectionOptions(redisUrl: string = DEFAULT_REDIS_URL): RedisConnectionOptions {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    throw new Error('REDIS_URL is not a valid URL (expected redis://[:password@]host[:port][/db])');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must use redis: or rediss:, not ${url.protocol}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = url.port === '' ? 6379 : Number(url.port);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  if (!/^\d{0,5}$/.test(path)) throw new Error('REDIS_URL path must be a database index, like /0');
  const db = path === '' ? 0 : Number(path);
  const options: RedisConnectionOptions = { host, port, db, maxRetriesPerRequest: null, retryStrategy: reconnectDelayMs };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') options.tls = { servername: host };
  return options;
}
