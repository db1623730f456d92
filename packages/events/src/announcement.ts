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
 * Appends and announces in one script, so `<previousId>` is exactly the entry before (no other append can
 * come between the read of the tail and the XADD). The stream's tail is never trimmed (MAXLEN trims the
 * head), so it is the previous entry whenever one exists.
 * KEYS: the stream. ARGV: maxLen, the event's JSON, the notify channel (a channel, not a key).
 */
const APPEND_AND_ANNOUNCE_LUA = `
local tail = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local previous = '${EMPTY_STREAM}'
if tail[1] then previous = tail[1][1] end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'data', ARGV[2])
redis.call('PUBLISH', ARGV[3], previous .. ' ' .. id .. ' ' .. ARGV[2])
return id
`;

/**
 * The append of one event as a command for a MULTI; its reply is the new stream id. EVAL, not EVALSHA: a
 * NOSCRIPT error inside a MULTI would fail the append alone and let the rest of the transaction through.
 * Redis caches the compiled script by its hash, so sending its text costs only the bytes.
 */
export function appendAndAnnounceCommand(streamKey: string, channel: string, maxLen: number, json: string): string[] {
  return ['eval', APPEND_AND_ANNOUNCE_LUA, '1', streamKey, String(maxLen), json, channel];
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
