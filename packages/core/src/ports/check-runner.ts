import type { CheckSource } from '@tinyb/contracts';
import type { Sandbox } from './sandbox.js';

export interface PlannedCheck {
  /** A shell command line, run with `sh -c` in the checkout. */
  command: string;
  /**
   * Installs dependencies rather than checking the change (`npm ci`): when it fails (typically for lack of
   * network) the checks after it cannot say anything, and the agent cannot fix it, so no fix round follows.
   */
  setup: boolean;
}

export interface CheckPlan {
  source: CheckSource;
  checks: PlannedCheck[];
  /** Why the repository's checks file could not be used; the run then reports it as one failed check. */
  problem?: string;
}

export interface CheckRun {
  command: string;
  setup: boolean;
  /** Null when the command did not exit by itself (timed out, or never started). */
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  passed: boolean;
  /** The end of the command's output (stdout and stderr interleaved as they came), a few KB at most. */
  outputTail: string;
}

/**
 * Finds a repository's checks (tests, lint, typecheck) and runs them in its sandbox. `plan` is meant to read the
 * checkout before the agent touches it, so the agent cannot choose which commands judge its work (it can still
 * change what they do, which the pull request's diff shows). `run` never throws for a failing or hanging check:
 * each gets its own time limit and the run a total one; it rejects only when aborted or the sandbox fails.
 */
export interface CheckRunner {
  plan(input: { sandbox: Sandbox; repoDir: string; requested?: readonly string[] }, signal: AbortSignal): Promise<CheckPlan>;
  run(
    input: { sandbox: Sandbox; repoDir: string; plan: CheckPlan },
    opts: { signal: AbortSignal; onCompleted?(run: CheckRun): Promise<void> },
  ): Promise<CheckRun[]>;
}
