/**
 * What ioredis (and BullMQ on top of it) throws when Redis cannot be reached, as opposed to an error Redis
 * itself answered. ioredis rejects these with plain `Error`s, so the message is all there is to go by; the
 * integration test (create-redis-connection.int.test.ts) pins each one against a real, stopped Redis so an
 * ioredis upgrade that rewords them fails there instead of turning outages into 500s.
 */
const UNAVAILABLE_MESSAGES = [
  // enableOfflineQueue: false, and the connection is down
  "Stream isn't writeable",
  // commandTimeout elapsed (a Redis that does not answer: stopped, paused or partitioned)
  'Command timed out',
  // the connection was closed with the command pending (ioredis' and BullMQ's wording)
  'Connection is closed',
  // maxRetriesPerRequest was reached while reconnecting
  'Reached the max retries per request limit',
];
/** Replies from a Redis that is up but cannot serve yet: loading its AOF after a restart, or a replica without its primary. */
const UNAVAILABLE_REPLIES = ['LOADING ', 'MASTERDOWN ', 'TRYAGAIN '];
const SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when `err` (or an error in its `cause` chain) says Redis is unreachable right now, so a retry later may succeed. */
export function isRedisUnavailableError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'MaxRetriesPerRequestError') return true;
    if (UNAVAILABLE_MESSAGES.some((m) => e.message.includes(m))) return true;
    if (UNAVAILABLE_REPLIES.some((r) => e.message.startsWith(r))) return true;
    const code = 'code' in e ? e.code : undefined;
    if (typeof code === 'string' && SOCKET_CODES.has(code)) return true;
  }
  return false;
}
