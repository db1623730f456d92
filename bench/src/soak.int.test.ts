import { runSoak } from './soak.js';

/**
 * The soak at CI size: three jobs through the real API, two real workers (the claude CLI in bwrap sandboxes), a
 * private AOF redis-server and the fakes, with a SIGKILL of the worker running the first, a Redis restart in
 * the second and a burst of GitHub 502s in the third, each at a point where the job still has work ahead.
 * `pnpm soak` runs the long, random version.
 */
jest.setTimeout(150_000);

it('loses no job, opens one PR per job, leaves no sandbox behind and takes a killed worker\'s job over within seconds', async () => {
  const lines: string[] = [];
  const report = await runSoak({
    trials: 3,
    faults: ['kill', 'redis', 'github5xx'],
    points: 'mid-job',
    scenario: 'write',
    seed: 1,
    trialTimeoutMs: 60_000,
    overallTimeoutMs: 120_000,
    log: (line) => lines.push(line),
  });
  const explain = `${JSON.stringify(report, null, 2)}\n${lines.join('\n')}`;

  expect({ faults: report.trials.map((t) => [t.fault, t.landed]), skipped: report.skipped }).toEqual({
    faults: [
      ['kill', true],
      ['redis', true],
      ['github5xx', true],
    ],
    skipped: 0,
  });
  expect({ counts: report.counts, explain }).toEqual({
    counts: { lost: 0, multiplePrs: 0, multipleBranches: 0, orphanSandboxDirs: 0, orphanProcesses: 0, stuck: 0, failed: 0 },
    explain,
  });
  // Each job ended with its pull request; the killed one in a second attempt on the other worker.
  expect(report.trials.map((t) => t.outcome)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  expect(report.trials[0]!.attempts).toBe(2);
  expect(report.takeover.samples).toBe(1);
  expect(report.takeover.p99S).toBeLessThan(15);
  expect(report.ok).toBe(true);
});
