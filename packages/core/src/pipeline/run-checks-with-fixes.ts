import type { CheckResult } from '@tinyb/contracts';
import type { CheckPlan, CheckRun, CheckRunner } from '../ports/check-runner.js';
import type { Sandbox } from '../ports/sandbox.js';
import type { StepContext } from '../ports/step-context.js';
import { checkFixPrompt } from './check-fix-prompt.js';
import { runStep } from './run-step.js';

export interface ChecksReport {
  /** The checks as they last ran. */
  runs: CheckRun[];
  passed: boolean;
  /** Fix rounds the agent was given. */
  fixRounds: number;
}

export interface RunChecksInput {
  runner: CheckRunner;
  plan: CheckPlan;
  sandbox: Sandbox;
  repoDir: string;
  /** The job's prompt, repeated in every fix prompt. */
  task: string;
  maxFixRounds: number;
  /** Runs the job's agent once more with this prompt, in the same sandbox. */
  fix(prompt: string, ctx: StepContext): Promise<unknown>;
}

/**
 * `run_checks`, then while a check fails (and a fix round is left, and the failure is the agent's to fix):
 * `fix_checks` (the agent gets the failures) and `run_checks` again. Undefined, with no step, when there are no checks.
 * A failing check is a result, not an error: the caller decides what a failed report means.
 */
export async function runChecksWithFixes(input: RunChecksInput, ctx: StepContext): Promise<ChecksReport | undefined> {
  const { plan } = input;
  // Most repositories an agent touches may have none: say so in the log, and leave the job's events as they were.
  if (plan.checks.length === 0 && plan.problem === undefined) {
    ctx.logger.info({ source: plan.source }, 'no checks found');
    return undefined;
  }
  let round = 0;
  let runs = await runChecksOnce(input, round, ctx);
  while (!allPassed(runs) && round < input.maxFixRounds && isFixable(runs)) {
    round++;
    const prompt = checkFixPrompt(input.task, runs.filter((r) => !r.passed));
    await runStep('fix_checks', ctx, (stepCtx) => input.fix(prompt, stepCtx), () => `round ${round} of ${input.maxFixRounds}`);
    runs = await runChecksOnce(input, round, ctx);
  }
  return { runs, passed: allPassed(runs), fixRounds: round };
}

function runChecksOnce(input: RunChecksInput, round: number, ctx: StepContext): Promise<CheckRun[]> {
  return runStep(
    'run_checks',
    ctx,
    async (stepCtx) => {
      const commands = input.plan.checks.map((c) => c.command);
      await stepCtx.emit({ type: 'checks.started', commands, source: input.plan.source, round });
      return input.runner.run(
        { sandbox: input.sandbox, repoDir: input.repoDir, plan: input.plan },
        {
          signal: stepCtx.signal,
          onCompleted: (run) =>
            stepCtx.emit({
              type: 'check.completed',
              command: run.command,
              exitCode: run.exitCode,
              durationMs: run.durationMs,
              passed: run.passed,
              timedOut: run.timedOut,
              outputTail: run.outputTail,
              round,
            }),
        },
      );
    },
    (runs) => `${runs.filter((r) => r.passed).length} of ${runs.length} passed`,
  );
}

const allPassed = (runs: readonly CheckRun[]) => runs.every((r) => r.passed);

/** A failed setup (no network for `npm ci`, a broken checks file) is the operator's or the repository's to fix, not the agent's. */
const isFixable = (runs: readonly CheckRun[]) => !runs.some((r) => r.setup && !r.passed);

/** What the job result keeps of a report. */
export function checkResultsOf(report: ChecksReport): CheckResult[] {
  return report.runs.map((r) => ({
    command: r.command,
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    passed: r.passed,
    ...(r.timedOut ? { timedOut: true } : {}),
  }));
}
