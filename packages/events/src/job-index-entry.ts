import { AppError } from '@tinyb/core';

/**
 * A job's entry in a listing index: `<creation ms, zero-padded>:<job id>`. All entries share one score,
 * so Redis orders them by these bytes: by creation time, then by id, a total order in which a cursor
 * (the last entry a page showed) says exactly where the next page starts, ties in one millisecond
 * included. The time prefix also lets old entries be trimmed with one ZREMRANGEBYLEX.
 */
const ENTRY = /^(\d{15}):([A-Za-z0-9_-]{1,128})$/;

export function indexEntry(createdAtMs: number, jobId: string): string {
  return `${timePrefix(createdAtMs)}:${jobId}`;
}

/** The entry prefix of a moment: every entry created before it sorts below it. */
export function timePrefix(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(15, '0');
}

export function jobIdOfEntry(entry: string): string {
  return ENTRY.exec(entry)?.[2] ?? entry;
}

/** The cursor handed to clients: opaque, so its format can change without breaking them. */
export function encodeCursor(entry: string): string {
  return Buffer.from(entry, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const entry = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!ENTRY.test(entry) || encodeCursor(entry) !== cursor) {
    throw new AppError('invalid_request', 'cursor is not one this server handed out (use next_cursor as given)');
  }
  return entry;
}
