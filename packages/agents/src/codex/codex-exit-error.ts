import { AppError } from '@tinyb/core';
import { truncateText } from '../truncate-text.js';
import type { CodexEvent } from './codex-event.js';

export interface CodexExit {
  exitCode: number;
  timedOut: boolean;
  stderr: string;
}

const STDERR_TAIL_LINES = 10;

/**
 * How a finished run of `codex exec` ended: `undefined` for success (exit 0 after `turn.completed`), otherwise
 * the AppError that says why not. A failed turn prints `turn.failed` with the API's trouble in words and exits
 * with 1; the HTTP status, when there is one, is in those words (see codexErrorStatus). Exit 2 is a usage error,
 * and a CLI that dies early (bad config, missing key) prints its reason on stderr only.
 */
export function codexExitError(exit: CodexExit, lines: readonly CodexEvent[], limits: { timeoutMs: number }): AppError | undefined {
  if (exit.timedOut) return new AppError('agent_timeout', `Codex did not finish within ${limits.timeoutMs} ms`);
  const failed = lines.findLast((l) => l.type === 'turn.failed');
  const completed = lines.some((l) => l.type === 'turn.completed');
  if (exit.exitCode === 0 && completed && !failed) return undefined;
  if (!failed) {
    return new AppError('agent_failed', `Codex exited with code ${exit.exitCode} without finishing its turn: ${lastLines(exit.stderr) || '(no stderr)'}`);
  }
  const message = failed.error.message;
  const status = codexErrorStatus(message);
  return new AppError('agent_failed', `Codex failed (exit code ${exit.exitCode}${status === undefined ? '' : `, API HTTP ${status}`}): ${truncateText(message, 1000)}`, {
    retryable: status !== undefined ? status === 429 || status >= 500 : isTransient(message),
  });
}

/**
 * The HTTP status in a failed turn's message. The CLI words them like `unexpected status 401 Unauthorized: …`
 * and `exceeded retry limit, last status: 429 Too Many Requests`, except 5xx answers, which it replaces with
 * "We're currently experiencing high demand, …" (read as 500 here); a 400's raw body has no status at all.
 */
export function codexErrorStatus(message: string): number | undefined {
  const m = /\bstatus:? ([1-5]\d\d)\b/.exec(message);
  if (m?.[1]) return Number(m[1]);
  if (/experiencing high demand/i.test(message)) return 500;
  return undefined;
}

/** A model API that could not be reached, or a stream that broke off: the next attempt may well get through. */
function isTransient(message: string): boolean {
  return /stream disconnected|error sending request|connection (refused|reset|closed)|timed? ?out/i.test(message);
}

function lastLines(text: string): string {
  return truncateText(text.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n'), 2000);
}
