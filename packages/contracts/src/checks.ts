import { z } from 'zod';

export const MAX_CHECK_COMMANDS = 10;
export const MAX_CHECK_COMMAND_CHARS = 500;

/**
 * One check as a job or a repository's `.tinyb.yml` names it: a shell command line, run with `sh -c` in the
 * repository's checkout inside the sandbox. One line: a newline would hide a second command in a table row.
 */
export const CheckCommand = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_CHECK_COMMAND_CHARS, `must be at most ${MAX_CHECK_COMMAND_CHARS} characters`)
  .regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, 'must be one line without control characters');

/** The checks to run, in order. An empty list means: run none (detection included). */
export const CheckCommands = z.array(CheckCommand).max(MAX_CHECK_COMMANDS, `must list at most ${MAX_CHECK_COMMANDS} commands`);
export type CheckCommands = z.infer<typeof CheckCommands>;

/** Where a job's checks came from: the request beats `.tinyb.yml`, which beats detection. */
export const CheckSource = z.enum(['request', 'file', 'detected']);
export type CheckSource = z.infer<typeof CheckSource>;

/** How one check ended, as the job result and the pull request report it. */
export const CheckResult = z.object({
  command: z.string(),
  /** Null when the command did not exit by itself: killed at its time limit, or never started because the total limit was spent. */
  exitCode: z.number().int().nullable(),
  durationMs: z.number().nonnegative(),
  passed: z.boolean(),
  timedOut: z.boolean().optional(),
});
export type CheckResult = z.infer<typeof CheckResult>;
