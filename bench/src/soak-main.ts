import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { runSoak, type SoakReport } from './soak.js';
import { parseFaults, type PointChoice } from './soak-plan.js';

/**
 * `pnpm soak [--trials N] [--faults kill,redis,...] [--points any|mid-job] [--scenario NAME] [--seed S]
 * [--trial-timeout-s S] [--timeout-s S]`: runs the
 * fault-injecting soak (see soak.ts), prints a table and, on its last line, the report as one JSON line. Exit
 * code 0 only when every zero check holds.
 */
const { values } = parseArgs({
  options: {
    trials: { type: 'string' },
    faults: { type: 'string' },
    seed: { type: 'string' },
    scenario: { type: 'string' },
    points: { type: 'string' },
    'trial-timeout-s': { type: 'string' },
    'timeout-s': { type: 'string' },
  },
});

const positive = (name: string, raw: string | undefined, fallback: number): number => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive whole number (got ${raw})`);
  return n;
};
const trials = positive('--trials', values.trials ?? process.env['SOAK_TRIALS'], 20);
const trialTimeoutS = positive('--trial-timeout-s', values['trial-timeout-s'], 120);
const options = {
  trials,
  ...(values.faults === undefined ? {} : { faults: parseFaults(values.faults) }),
  seed: values.seed === undefined ? randomInt(2 ** 31) : positive('--seed', values.seed, 1),
  ...(values.scenario === undefined ? {} : { scenario: values.scenario }),
  points: parsePoints(values.points),
  trialTimeoutMs: trialTimeoutS * 1000,
  // A trial with a takeover and a retry takes ~40 s here; the default leaves room for that on every one.
  overallTimeoutMs: positive('--timeout-s', values['timeout-s'], 60 + trials * 60) * 1000,
  log: (line: string) => process.stderr.write(`soak: ${line}\n`),
};

// The hard stop: settling, cleanup and the report must fit in the overall limit plus a trial and the grace.
const hardLimitMs = options.overallTimeoutMs + options.trialTimeoutMs + 120_000;
const hardLimit = setTimeout(() => {
  process.stderr.write(`soak: over ${hardLimitMs} ms, giving up\n`);
  process.exit(2);
}, hardLimitMs);
hardLimit.unref();

const interrupted = new AbortController();
process.once('SIGINT', () => interrupted.abort());
process.once('SIGTERM', () => interrupted.abort());
const report = await runSoak({ ...options, signal: interrupted.signal });
process.stdout.write(`${formatReport(report)}\n${JSON.stringify(report)}\n`);
process.exit(report.ok ? 0 : 1);

function parsePoints(raw: string | undefined): PointChoice {
  if (raw === undefined || raw === 'any' || raw === 'mid-job') return raw ?? 'any';
  throw new Error(`--points takes any or mid-job (got ${raw})`);
}

function formatReport(r: SoakReport): string {
  const rows = [
    ['#', 'fault', 'point', 'landed', 'outcome', 'attempts', 'takeover s', 'job s', 'detail'],
    ...r.trials.map((t) => [
      String(t.trial),
      t.fault,
      t.trigger,
      t.landed ? 'yes' : 'no',
      t.outcome,
      String(t.attempts),
      t.takeoverMs === undefined ? '' : (t.takeoverMs / 1000).toFixed(1),
      (t.durationMs / 1000).toFixed(1),
      t.error === undefined ? t.detail : `${t.detail}; ${t.error}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const table = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  const c = r.counts;
  const check = (name: string, n: number) => `  ${n === 0 ? 'ok  ' : 'FAIL'} ${name.padEnd(26)} ${n}`;
  return [
    `soak: ${r.trials.length} trials (${r.skipped} skipped by the time limit), seed ${r.seed}, ${r.durationS} s`,
    '',
    ...table,
    '',
    check('lost jobs', c.lost),
    check('jobs with > 1 PR', c.multiplePrs),
    check('jobs with > 1 branch', c.multipleBranches),
    check('orphaned sandbox dirs', c.orphanSandboxDirs),
    check('orphaned sandbox processes', c.orphanProcesses),
    check('stuck jobs', c.stuck),
    check('trials skipped', r.skipped),
    check('failed jobs', c.failed),
    `  takeover (SIGKILL → next attempt on the stream): p50 ${r.takeover.p50S ?? '-'} s, p99 ${r.takeover.p99S ?? '-'} s, max ${r.takeover.maxS ?? '-'} s over ${r.takeover.samples}`,
    `  handover (SIGTERM → next attempt): p50 ${r.handover.p50S ?? '-'} s, max ${r.handover.maxS ?? '-'} s over ${r.handover.samples}`,
    ...r.leftovers.sandboxDirs.map((d) => `  left: ${d}`),
    ...r.leftovers.processes.map((p) => `  left: process ${p}`),
    ...r.stuckJobs.map((j) => `  stuck: ${j.jobId} ${j.state}`),
    ...r.duplicateJobs.map((j) => `  duplicate: ${j.jobId} ${j.prs} PRs, ${j.branches} branches`),
    r.ok ? 'soak: ok' : 'soak: FAILED',
  ].join('\n');
}
