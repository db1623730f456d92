import type { NewJobEvent } from '@tinyb/contracts';
import { silentLogger } from '../logger.js';
import type { CheckPlan, CheckRun, CheckRunner } from '../ports/check-runner.js';
import type { Sandbox } from '../ports/sandbox.js';
import type { StepContext } from '../ports/step-context.js';
import { checkResultsOf, runChecksWithFixes, type RunChecksInput } from './run-checks-with-fixes.js';

// The runner is the port; its real implementation (packages/checks) has int tests in real sandboxes. Here a
// scripted one stands for "the checks answer this on each run", to test the round policy alone.
function scriptedRunner(answers: boolean[][]): CheckRunner & { runs: number } {
  const runner = {
    runs: 0,
    plan: async (): Promise<CheckPlan> => ({ source: 'detected', checks: [] }),
    async run({ plan }: { plan: CheckPlan }, opts: { onCompleted?(run: CheckRun): Promise<void> }) {
      const passed = answers[Math.min(runner.runs++, answers.length - 1)]!;
      const runs: CheckRun[] = [];
      for (const [i, check] of plan.checks.entries()) {
        const run = { ...check, exitCode: passed[i] ? 0 : 1, timedOut: false, durationMs: 5, passed: passed[i]!, outputTail: `output of ${check.command}` };
        await opts.onCompleted?.(run);
        runs.push(run);
      }
      return runs;
    },
  };
  return runner;
}

function context() {
  const events: NewJobEvent[] = [];
  const ctx: StepContext = { jobId: 'job-1', logger: silentLogger, signal: new AbortController().signal, emit: async (e) => void events.push(e) };
  return { ctx, events };
}

const plan: CheckPlan = {
  source: 'detected',
  checks: [
    { command: 'npm ci', setup: true },
    { command: 'npm test', setup: false },
  ],
};

function input(runner: CheckRunner, fixes: string[], overrides: Partial<RunChecksInput> = {}): RunChecksInput {
  return {
    runner,
    plan,
    sandbox: {} as Sandbox,
    repoDir: '/workspace/repo',
    task: 'Greet properly [scenario:x]',
    maxFixRounds: 2,
    fix: async (prompt) => void fixes.push(prompt),
    ...overrides,
  };
}

describe('runChecksWithFixes', () => {
  it('passing checks: one run, no fix round, events in order', async () => {
    const { ctx, events } = context();
    const fixes: string[] = [];
    const report = await runChecksWithFixes(input(scriptedRunner([[true, true]]), fixes), ctx);
    expect(report).toMatchObject({ passed: true, fixRounds: 0 });
    expect(fixes).toEqual([]);
    expect(events.map((e) => (e.type === 'step.started' || e.type === 'step.completed' ? `${e.type}:${e.step}` : e.type))).toEqual([
      'step.started:run_checks',
      'checks.started',
      'check.completed',
      'check.completed',
      'step.completed:run_checks',
    ]);
  });

  it('a check fixed in the first round: the fix prompt carries the task and the failed output only', async () => {
    const { ctx, events } = context();
    const fixes: string[] = [];
    const report = await runChecksWithFixes(input(scriptedRunner([[true, false], [true, true]]), fixes), ctx);
    expect(report).toMatchObject({ passed: true, fixRounds: 1 });
    expect(fixes).toHaveLength(1);
    expect(fixes[0]).toContain('Greet properly [scenario:x]');
    expect(fixes[0]).toContain('output of npm test');
    expect(fixes[0]).not.toContain('output of npm ci');
    const rounds = events.flatMap((e) => (e.type === 'checks.started' ? [e.round] : []));
    expect(rounds).toEqual([0, 1]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'step.completed', step: 'fix_checks', detail: 'round 1 of 2' }));
  });

  it('checks that keep failing: exactly maxFixRounds rounds, then the failed report', async () => {
    const { ctx } = context();
    const fixes: string[] = [];
    const runner = scriptedRunner([[true, false]]);
    const report = await runChecksWithFixes(input(runner, fixes, { maxFixRounds: 2 }), ctx);
    expect(report).toMatchObject({ passed: false, fixRounds: 2 });
    expect(fixes).toHaveLength(2);
    expect(runner.runs).toBe(3);
    expect(checkResultsOf(report!)).toEqual([
      { command: 'npm ci', exitCode: 0, durationMs: 5, passed: true },
      { command: 'npm test', exitCode: 1, durationMs: 5, passed: false },
    ]);
  });

  it('a failed setup (no network for npm ci) gets no fix round', async () => {
    const { ctx } = context();
    const fixes: string[] = [];
    const report = await runChecksWithFixes(input(scriptedRunner([[false, false]]), fixes), ctx);
    expect(report).toMatchObject({ passed: false, fixRounds: 0 });
    expect(fixes).toEqual([]);
  });

  it('CHECK_FIX_ROUNDS=0: report only', async () => {
    const { ctx } = context();
    const fixes: string[] = [];
    const report = await runChecksWithFixes(input(scriptedRunner([[true, false]]), fixes, { maxFixRounds: 0 }), ctx);
    expect(report).toMatchObject({ passed: false, fixRounds: 0 });
    expect(fixes).toEqual([]);
  });

  it('no checks: no step, no event, no report', async () => {
    const { ctx, events } = context();
    const report = await runChecksWithFixes(input(scriptedRunner([[]]), [], { plan: { source: 'detected', checks: [] } }), ctx);
    expect(report).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('a fix round that fails (agent error) fails the step and the job', async () => {
    const { ctx, events } = context();
    const failing = input(scriptedRunner([[true, false]]), [], { fix: async () => Promise.reject(new Error('agent crashed')) });
    await expect(runChecksWithFixes(failing, ctx)).rejects.toThrow('agent crashed');
    expect(events).toContainEqual(expect.objectContaining({ type: 'step.failed', step: 'fix_checks' }));
  });
});
