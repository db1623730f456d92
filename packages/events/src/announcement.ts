import { decodeEvent } from './job-event-codec.js';
import type { AnnouncedLogEntry } from './job-event-fanout.js';

/**
 * A job's notification, as published on its pub/sub channel, is either
 *
 *   `1`                          look again: something was appended (the entry is not in the message), or
 *   `<previousId> <id> <json>`   the entry `<id>` was appended right after `<previousId>` (`-`: the stream was empty).
 *
 * The second form lets a relay whose clients already have `<previousId>` send them the entry without reading
 * the stream: one XRANGE per event per process was the relay's main Redis cost with many jobs. A relay that
 * does not have `<previousId>` (a lost notification, a reconnect, a client resuming from older) reads.
 */
export const LOOK_AGAIN = '1';

const EMPTY_STREAM = '-';

/**
 * Records one event in one script: the append, the status fields, both keys' expiry and the announcement.
 * `<previousId>` is exactly the entry before (no other append can come between the read of the tail and the
 * XADD); the stream's tail is never trimmed (MAXLEN trims the head), so it is the previous entry whenever one
 * exists. One script instead of a MULTI of five commands: a worker's event is one command to build and send.
 * KEYS: the stream, the status hash. ARGV: maxLen, the event's JSON, the notify channel (a channel, not a
 * key), the keys' TTL in ms, then the status fields and values.
 */
const RECORD_EVENT_LUA = `
local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = '${EMPTY_STREAM}'
if tail[1] then previous = tail[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[2])
if #ARGV > 4 then redis.call('HSET', KEYS[2], unpack(ARGV, 5)) end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('PUBLISH', ARGV[3], previous .. ' ' .. id .. ' ' .. ARGV[2])
return id
`;

export interface RecordedEvent {
  streamKey: string;
  statusKey: string;
  channel: string;
  maxLen: number;
  json: string;
  ttlMs: number;
  /** Field, value, field, value…; empty when the event changes no status field. */
  statusFields: string[];
}

/**
 * The whole record of one event as one command (for a MULTI, or sent alone); its reply is the new stream id.
 * EVAL, not EVALSHA: a NOSCRIPT error inside a MULTI would fail the event alone and let the rest of the
 * transaction through. Redis caches the compiled script by its hash, so sending its text costs only the bytes.
 */
export function recordEventCommand(e: RecordedEvent): string[] {
  return ['eval', RECORD_EVENT_LUA, '2', e.streamKey, e.statusKey, String(e.maxLen), e.json, e.channel, String(e.ttlMs), ...e.statusFields];
}

/** The entry a notification carries, or undefined when it carries none (or is not one we can read). */
export function parseAnnouncement(message: string): AnnouncedLogEntry | undefined {
  const first = message.indexOf(' ');
  const second = first < 0 ? -1 : message.indexOf(' ', first + 1);
  if (second < 0) return undefined;
  const previousId = message.slice(0, first);
  return {
    previousId: previousId === EMPTY_STREAM ? undefined : previousId,
    id: message.slice(first + 1, second),
    // Undefined for an event this version cannot read: it is skipped like one read from the stream.
    event: decodeEvent(message.slice(second + 1)),
  };
}
