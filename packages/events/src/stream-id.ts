import { AppError } from '@tinyb/core';

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const U64_MAX = 2n ** 64n - 1n;

/** A Redis Stream id (`<ms>-<seq>`), split into its two unsigned 64-bit halves. */
export interface StreamIdParts {
  ms: bigint;
  seq: bigint;
}

/**
 * Parses an id a client sent back (SSE `Last-Event-ID`). Only the full `<ms>-<seq>` form is accepted:
 * Redis reads an incomplete id as `<ms>-0` for an exclusive start, which would replay or skip events.
 * Throws AppError `invalid_request`, which the API maps to 400.
 */
export function parseStreamId(id: string): StreamIdParts {
  const match = STREAM_ID.exec(id);
  const ms = match?.[1] === undefined ? undefined : BigInt(match[1]);
  const seq = match?.[2] === undefined ? undefined : BigInt(match[2]);
  if (ms === undefined || seq === undefined || ms > U64_MAX || seq > U64_MAX) {
    throw new AppError('invalid_request', 'event id must look like <milliseconds>-<sequence>, e.g. 1700000000000-0');
  }
  return { ms, seq };
}

/** Orders two valid stream ids the way Redis does: negative when `a` comes first. */
export function compareStreamIds(a: string, b: string): number {
  const x = parseStreamId(a);
  const y = parseStreamId(b);
  if (x.ms !== y.ms) return x.ms < y.ms ? -1 : 1;
  if (x.seq !== y.seq) return x.seq < y.seq ? -1 : 1;
  return 0;
}
