import { AppError } from '@tinyb/core';
import { truncateText } from '../truncate-text.js';
import type { GeminiResultLine } from './gemini-stream-line.js';

/** The CLI's own exit codes (`FatalError` subclasses and friends in 0.61). */
export const GEMINI_EXIT = {
  success: 0,
  general: 1,
  authentication: 41,
  input: 42,
  sandbox: 44,
  config: 52,
  turnLimit: 53,
  toolExecution: 54,
  untrustedWorkspace: 55,
  cancelled: 130,
} as const;

const FATAL_NAMES: Record<number, string> = {
  [GEMINI_EXIT.authentication]: 'authentication error',
  [GEMINI_EXIT.input]: 'input error',
  [GEMINI_EXIT.sandbox]: 'sandbox error',
  [GEMINI_EXIT.config]: 'configuration error',
  [GEMINI_EXIT.toolExecution]: 'tool execution error',
  [GEMINI_EXIT.untrustedWorkspace]: 'untrusted workspace',
  [GEMINI_EXIT.cancelled]: 'cancelled',
};

/**
 * An API error ends the CLI with `process.exit(httpStatus)`, which the OS cuts to its low byte:
 * 400 → 144, 401 → 145, 403 → 147, 404 → 148, 408 → 152, 429 → 173, 500 → 244, 502 → 246, 503 → 247,
 * 504 → 248. Statuses 400–511 land on 144–255, a range none of the CLI's own codes (≤ 130) uses. A process
 * killed by a signal also ends up above 128 (137, 143), which is why a code is read as a status only when
 * the CLI wrote its own error result first, i.e. it exited by itself.
 */
export function httpStatusFromExitCode(exitCode: number): number | undefined {
  return exitCode >= (400 & 0xff) && exitCode <= 0xff ? exitCode + 256 : undefined;
}

/** Statuses after which the same job may well succeed later: rate-limited, overloaded, server errors. */
export function isRetryableHttpStatus(status: number | undefined): boolean {
  return status !== undefined && (status === 429 || status >= 500);
}

export interface GeminiExit {
  exitCode: number;
  timedOut: boolean;
  stderr: string;
}

const STDERR_TAIL_LINES = 10;

/**
 * How a finished run of the CLI ended: `undefined` for success (exit 0 with a `success` result), otherwise
 * the AppError that says why not. Success needs both: an invalid stream ends with exit 0 and an `error`
 * result, and a killed CLI may have printed nothing at all.
 */
export function geminiExitError(exit: GeminiExit, result: GeminiResultLine | undefined, limits: { maxTurns: number; timeoutMs: number }): AppError | undefined {
  if (exit.timedOut) return new AppError('agent_timeout', `Gemini CLI did not finish within ${limits.timeoutMs} ms`);
  if (exit.exitCode === GEMINI_EXIT.turnLimit || result?.error?.type === 'FatalTurnLimitedError') {
    return new AppError('agent_max_turns', `Gemini CLI stopped after reaching the limit of ${limits.maxTurns} turns`);
  }
  if (exit.exitCode === GEMINI_EXIT.success && result?.status === 'success') return undefined;
  if (!result) {
    return new AppError(
      'agent_failed',
      `Gemini CLI exited with code ${exit.exitCode} without a result: ${lastLines(exit.stderr) || '(no stderr)'}`,
    );
  }

  const detail = truncateText(result.error?.message ?? `result status ${result.status}`, 1000);
  const fatal = FATAL_NAMES[exit.exitCode];
  if (fatal !== undefined) {
    return new AppError('agent_failed', `Gemini CLI failed (exit code ${exit.exitCode}, ${fatal}): ${detail}`);
  }
  const status = result.status === 'error' ? (httpStatusFromExitCode(exit.exitCode) ?? statusInMessage(result.error?.message)) : undefined;
  if (status !== undefined) {
    return new AppError('agent_failed', `Gemini CLI failed (exit code ${exit.exitCode}, API HTTP ${status}): ${detail}`, {
      retryable: isRetryableHttpStatus(status),
    });
  }
  return new AppError('agent_failed', `Gemini CLI failed (exit code ${exit.exitCode}): ${detail}`);
}

/**
 * Statuses beyond 511 do not survive the exit code (529 → 17), but the API's error body is quoted in the
 * message: `[API Error: {"error":{"code":529,…}}]`.
 */
function statusInMessage(message: string | undefined): number | undefined {
  const m = message === undefined ? null : /"code"\s*:\s*([1-5]\d\d)\b/.exec(message);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

function lastLines(text: string): string {
  return truncateText(text.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n'), 2000);
}
