import { JobStatus, type JobEvent, type JobEventType, type JobResult, type NewJobEvent } from '@tinyb/contracts';
import { statusPatchFor } from './job-status.js';

const JOB = 'job-42';
let clock = 0; // one second per event, so every event has its own time
const at = () => new Date(Date.UTC(2025, 0, 1, 0, 0, clock++)).toISOString();
const ev = (e: NewJobEvent): JobEvent => ({ ...e, jobId: JOB, at: at() }) as JobEvent;

const transientError = { code: 'internal', message: 'socket hang up', step: 'run_agent' } as const;
const fatalError = { code: 'repo_access_denied', message: 'token cannot push', step: 'push_branch' } as const;
const result: JobResult = {
  outcome: 'pr_opened',
  pr: { url: 'https://github.com/octo/hello/pull/3', number: 3, branch: 'tinyb/job-42' },
  filesChanged: [{ path: 'README.md', change: 'added' }],
  summary: 'Added a README',
};

/** Applies patches in order, as a store does, checking each snapshot against the public schema. */
function fold(events: JobEvent[]): JobStatus[] {
  const snapshots: JobStatus[] = [];
  let status = {} as JobStatus;
  for (const e of events) {
    status = { ...status, ...statusPatchFor(e) };
    snapshots.push(JobStatus.parse(status));
  }
  return snapshots;
}

describe('statusPatchFor, folded over a job that is retried and then succeeds', () => {
  const events = [
    ev({ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'claude-code', draft: false, tenant: 'alice', traceId: '0af7651916cd43dd8448eb211c80319c' }),
    ev({ type: 'job.started', attempt: 1, workerId: 'w-1' }),
    ev({ type: 'step.started', step: 'create_sandbox' }),
    ev({ type: 'step.completed', step: 'create_sandbox', durationMs: 40 }),
    ev({ type: 'step.started', step: 'run_agent' }),
    ev({ type: 'agent.message', text: 'thinking' }),
    ev({ type: 'step.failed', step: 'run_agent', durationMs: 9, error: transientError }),
    ev({ type: 'job.retrying', attempt: 1, error: transientError, delayMs: 15000 }),
    ev({ type: 'job.started', attempt: 2, workerId: 'w-2' }),
    ev({ type: 'step.started', step: 'open_pr' }),
    ev({ type: 'pr.created', ...result.pr!, reused: true }),
    ev({ type: 'job.succeeded', result }),
  ];
  const [queued, started1, sandbox, sandboxDone, agent, message, stepFailed, retrying, started2, openPr, prCreated, succeeded] =
    fold(events);
  const t = (i: number) => events[i]!.at;

  it('queued: a fresh status from the job.queued event alone', () => {
    expect(queued).toEqual({
      id: JOB,
      state: 'queued',
      step: null,
      attempt: 0,
      repoUrl: 'https://github.com/octo/hello',
      agent: 'claude-code',
      createdAt: t(0),
      startedAt: null,
      finishedAt: null,
      cancelRequested: false,
      result: null,
      error: null,
      usage: null,
      tenant: 'alice',
      traceId: '0af7651916cd43dd8448eb211c80319c',
    });
  });

  it('started: running, attempt 1, startedAt set', () => {
    expect(started1).toEqual({ ...queued, state: 'running', attempt: 1, startedAt: t(1) });
  });

  it('step.started moves the step; step.completed and agent events change nothing', () => {
    expect(sandbox).toEqual({ ...started1, step: 'create_sandbox' });
    expect(sandboxDone).toEqual(sandbox);
    expect(agent!.step).toBe('run_agent');
    expect(message).toEqual(agent);
    expect(stepFailed).toEqual(agent);
  });

  it('retrying: back to queued, keeps the failed step, records the error, not finished', () => {
    expect(retrying).toMatchObject({ state: 'queued', step: 'run_agent', attempt: 1, error: transientError, finishedAt: null });
  });

  it('second start: running again, attempt 2, new startedAt, the previous error and step cleared', () => {
    expect(started2).toMatchObject({ state: 'running', attempt: 2, startedAt: t(8), step: null, error: null });
    expect(started2!.createdAt).toBe(t(0));
  });

  it('pr.created alone does not finish the job', () => {
    expect(prCreated).toEqual(openPr);
    expect(prCreated!.state).toBe('running');
  });

  it('succeeded: terminal, with the result and no current step', () => {
    expect(succeeded).toEqual({
      ...started2,
      state: 'succeeded',
      step: null,
      result,
      finishedAt: t(11),
    });
  });
});

describe('statusPatchFor, folded over a job that is cancelled', () => {
  const events = [
    ev({ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'gemini', draft: true }),
    ev({ type: 'job.started', attempt: 1, workerId: 'w-1' }),
    ev({ type: 'step.started', step: 'run_agent' }),
    ev({ type: 'job.cancel_requested' }),
    ev({ type: 'job.cancelled', step: 'run_agent' }),
  ];
  const [, , running, cancelRequested, cancelled] = fold(events);

  it('cancel requested: only the flag changes; the job keeps running until it stops', () => {
    expect(cancelRequested).toEqual({ ...running, cancelRequested: true });
  });

  it('cancelled: terminal, finishedAt set, the flag kept', () => {
    expect(cancelled).toEqual({ ...cancelRequested, state: 'cancelled', finishedAt: events[4]!.at });
  });

  it('a cancel requested while still queued is kept through the start', () => {
    const [, requested, started] = fold([
      ev({ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'gemini', draft: false }),
      ev({ type: 'job.cancel_requested' }),
      ev({ type: 'job.started', attempt: 1, workerId: 'w-1' }),
    ]);
    expect(requested).toMatchObject({ state: 'queued', cancelRequested: true });
    expect(started).toMatchObject({ state: 'running', cancelRequested: true });
  });
});

describe('statusPatchFor, folded over a job that fails', () => {
  it('failed: terminal, with the error and the step it failed in', () => {
    const events = [
      ev({ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'claude-code', draft: false }),
      ev({ type: 'job.started', attempt: 1, workerId: 'w-1' }),
      ev({ type: 'step.started', step: 'push_branch' }),
      ev({ type: 'step.failed', step: 'push_branch', durationMs: 3, error: fatalError }),
      ev({ type: 'job.failed', error: fatalError }),
    ];
    const snapshots = fold(events);
    expect(snapshots.at(-1)).toMatchObject({
      state: 'failed',
      step: 'push_branch',
      error: fatalError,
      result: null,
      finishedAt: events[4]!.at,
    });
  });
});

describe('statusPatchFor, folded over a job whose worker died mid-step', () => {
  it('recovered: still running, the lost step cleared, worker_lost recorded until the next attempt starts', () => {
    const events = [
      ev({ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'claude-code', draft: false }),
      ev({ type: 'job.started', attempt: 1, workerId: 'w-1' }),
      ev({ type: 'step.started', step: 'run_agent' }),
      ev({ type: 'job.recovered', attempt: 1, previousWorkerId: 'w-1', reason: 'worker_lost' }),
      ev({ type: 'job.started', attempt: 2, workerId: 'w-2' }),
    ];
    const [, , agent, recovered, started2] = fold(events);
    expect(recovered).toEqual({ ...agent, state: 'running', step: null, error: { code: 'worker_lost', message: expect.stringContaining('attempt 1') } });
    expect(started2).toEqual({ ...recovered, attempt: 2, startedAt: events[4]!.at, error: null });
  });
});

describe('statusPatchFor, every event type', () => {
  const error = fatalError;
  // `satisfies` makes this fail to compile when an event type is added without an expectation here.
  const expected = {
    'job.queued': [{ type: 'job.queued', repoUrl: 'u', agent: 'a', draft: false }, ['id', 'state', 'step', 'attempt', 'repoUrl', 'agent', 'createdAt', 'startedAt', 'finishedAt', 'cancelRequested', 'result', 'error', 'usage', 'tenant', 'traceId']],
    'job.started': [{ type: 'job.started', attempt: 1, workerId: 'w' }, ['state', 'attempt', 'startedAt', 'step', 'error']],
    'job.recovered': [{ type: 'job.recovered', attempt: 1, reason: 'worker_lost' }, ['state', 'step', 'error']],
    'job.cancel_requested': [{ type: 'job.cancel_requested' }, ['cancelRequested']],
    'job.retrying': [{ type: 'job.retrying', attempt: 1, error, delayMs: 1 }, ['state', 'error']],
    'step.started': [{ type: 'step.started', step: 'clone' }, ['step']],
    'step.completed': [{ type: 'step.completed', step: 'clone', durationMs: 1 }, []],
    'step.failed': [{ type: 'step.failed', step: 'clone', durationMs: 1, error }, []],
    'agent.message': [{ type: 'agent.message', text: 't' }, []],
    'agent.tool_call': [{ type: 'agent.tool_call', tool: 'Read', input: {} }, []],
    'agent.tool_result': [{ type: 'agent.tool_result', ok: true, output: '' }, []],
    'agent.usage': [{ type: 'agent.usage', inputTokens: 1, outputTokens: 1 }, ['usage']],
    'checks.started': [{ type: 'checks.started', commands: ['npm test'], source: 'detected', round: 0 }, []],
    'check.completed': [{ type: 'check.completed', command: 'npm test', exitCode: 0, durationMs: 1, passed: true, timedOut: false, outputTail: '', round: 0 }, []],
    'git.committed': [{ type: 'git.committed', sha: 's', branch: 'b', filesChanged: [] }, []],
    'pr.created': [{ type: 'pr.created', url: 'u', number: 1, branch: 'b', reused: false }, []],
    'job.succeeded': [{ type: 'job.succeeded', result }, ['state', 'step', 'result', 'finishedAt']],
    'job.failed': [{ type: 'job.failed', error }, ['state', 'error', 'finishedAt']],
    'job.cancelled': [{ type: 'job.cancelled' }, ['state', 'finishedAt']],
  } satisfies Record<JobEventType, [NewJobEvent, (keyof JobStatus)[]]>;

  it.each(Object.entries(expected))('%s patches exactly the expected fields', (_type, [e, keys]) => {
    expect(Object.keys(statusPatchFor(ev(e))).sort()).toEqual([...keys].sort());
  });

  it('takes the usage totals of agent.usage and of terminal events that carry them', () => {
    const usage = { inputTokens: 10, outputTokens: 5, costUsd: 0.01 };
    expect(statusPatchFor(ev({ type: 'agent.usage', ...usage }))).toEqual({ usage });
    expect(statusPatchFor(ev({ type: 'job.failed', error, usage }))).toMatchObject({ usage });
    expect(statusPatchFor(ev({ type: 'job.cancelled', usage }))).toMatchObject({ usage });
    expect(statusPatchFor(ev({ type: 'job.succeeded', result: { ...result, usage } }))).toMatchObject({ usage });
  });

  it.each(['job.succeeded', 'job.failed', 'job.cancelled'] as const)('%s sets finishedAt to the event time', (type) => {
    const e = ev(expected[type][0]);
    expect(statusPatchFor(e).finishedAt).toBe(e.at);
  });
});
