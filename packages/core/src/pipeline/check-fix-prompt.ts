import type { CheckRun } from '../ports/check-runner.js';

/** The agent CLIs take the prompt as one argv string, which Linux caps at 128 KiB: stay far below. */
const TASK_MAX_CHARS = 8_000;
const OUTPUT_MAX_CHARS_PER_CHECK = 4_000;
const OUTPUT_MAX_CHARS_TOTAL = 16_000;

/**
 * The prompt of a fix round: a fresh agent run that knows nothing of the first one, so it gets the original task
 * (quoted whole, tags and all) and the end of each failed check's output.
 */
export function checkFixPrompt(task: string, failed: readonly CheckRun[]): string {
  let budget = OUTPUT_MAX_CHARS_TOTAL;
  const sections = failed.map((run) => {
    const keep = Math.min(OUTPUT_MAX_CHARS_PER_CHECK, Math.max(budget, 0));
    // slice(-0) would keep everything.
    const tail = keep === 0 ? '' : run.outputTail.slice(-keep);
    budget -= tail.length;
    const fence = fenceFor(tail);
    return [`### \`${run.command}\` (${describeEnd(run)})`, `${fence}text`, tail.trimEnd() || (run.outputTail.trim() ? '(left out: the prompt is full)' : '(no output)'), fence].join('\n');
  });
  return [
    'The repository\'s checks fail with the changes you made for the task below. Fix the code so that they pass.',
    'Do not delete, skip or weaken the checks or tests themselves, and keep the task done.',
    '',
    '## The task',
    task.slice(0, TASK_MAX_CHARS),
    '',
    '## Failed checks (the end of each one\'s output)',
    '',
    sections.join('\n\n'),
  ].join('\n');
}

export function describeEnd(run: Pick<CheckRun, 'exitCode' | 'timedOut' | 'durationMs'>): string {
  if (run.timedOut) return `timed out after ${Math.round(run.durationMs / 1000)} s`;
  return run.exitCode === null ? 'did not run' : `exit code ${run.exitCode}`;
}

/** A code fence longer than any run of backticks in the text, so the output cannot close it early. */
function fenceFor(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(Math.max(3, longest + 1));
}
