import type { JobEvent } from '@tinyb/contracts';
import { EMPTY_TIMELINE, foldEvent, type JobTimeline } from './job-timeline.js';

type NewEvent = JobEvent extends infer E ? (E extends JobEvent ? Omit<E, 'jobId' | 'at'> : never) : never;

const fold = (events: NewEvent[]): JobTimeline =>
  events.reduce<JobTimeline>(
    (timeline, event, i) => foldEvent(timeline, `1700000000000-${i}`, { ...event, jobId: 'j1', at: new Date(1_700_000_000_000 + i * 1000).toISOString() } as JobEvent),
    EMPTY_TIMELINE,
  );

describe('foldEvent', () => {
  it('turns a successful job into steps with durations, messages, tool calls with results, usage and the PR', () => {
    const timeline = fold([
      { type: 'job.queued', repoUrl: 'https://github.com/acme/app', agent: 'claude-code', draft: false },
      { type: 'job.started', attempt: 1, workerId: 'w:1' },
      { type: 'step.started', step: 'run_agent' },
      { type: 'agent.message', text: 'Editing the README.' },
      { type: 'agent.tool_call', tool: 'Edit', callId: 'c1', input: { path: 'README.md', oldText: 'a', newText: 'b' } },
      { type: 'agent.tool_call', tool: 'Read', callId: 'c2', input: { path: 'x' } },
      { type: 'agent.tool_result', callId: 'c1', ok: true, output: 'edited' },
      { type: 'agent.usage', inputTokens: 10, outputTokens: 5, costUsd: 0.01 },
      { type: 'step.completed', step: 'run_agent', durationMs: 4200 },
      { type: 'pr.created', url: 'https://github.com/acme/app/pull/7', number: 7, branch: 'tinyb/j1', reused: false },
      {
        type: 'job.succeeded',
        result: { outcome: 'pr_opened', filesChanged: [], summary: 'Done', pr: { url: 'https://github.com/acme/app/pull/7', number: 7, branch: 'tinyb/j1' } },
      },
    ]);
    expect(timeline).toMatchObject({ state: 'succeeded', attempt: 1, agent: 'claude-code', eventCount: 11, lastEventId: '1700000000000-10' });
    expect(timeline.usage).toEqual({ inputTokens: 10, outputTokens: 5, costUsd: 0.01 });
    expect(timeline.pr).toMatchObject({ number: 7, url: 'https://github.com/acme/app/pull/7' });
    expect(timeline.entries.map((e) => e.kind)).toEqual(['note', 'note', 'step', 'message', 'tool', 'tool', 'note', 'note']);
    expect(timeline.entries[2]).toMatchObject({ step: 'run_agent', state: 'completed', durationMs: 4200 });
    // The result went to its own call (c1), not to the latest one.
    expect(timeline.entries[4]).toMatchObject({ tool: 'Edit', result: { ok: true, output: 'edited' } });
    expect(timeline.entries[5]).not.toHaveProperty('result');
    expect(timeline.entries[6]).toMatchObject({ tone: 'success', href: 'https://github.com/acme/app/pull/7' });
  });

  it('settles the latest run of a step when a retried job runs it again, and records the failure', () => {
    const timeline = fold([
      { type: 'step.started', step: 'clone' },
      { type: 'step.failed', step: 'clone', durationMs: 10, error: { code: 'clone_failed', message: 'boom' } },
      { type: 'job.retrying', attempt: 1, error: { code: 'clone_failed', message: 'boom' }, delayMs: 2000 },
      { type: 'step.started', step: 'clone' },
      { type: 'step.completed', step: 'clone', durationMs: 30 },
      { type: 'job.failed', error: { code: 'agent_failed', message: 'no' } },
    ]);
    const steps = timeline.entries.filter((e) => e.kind === 'step');
    expect(steps).toEqual([
      expect.objectContaining({ state: 'failed', durationMs: 10, error: { code: 'clone_failed', message: 'boom' } }),
      expect.objectContaining({ state: 'completed', durationMs: 30 }),
    ]);
    expect(timeline).toMatchObject({ state: 'failed', error: { code: 'agent_failed', message: 'no' } });
  });

  it('marks a cancel request, then the cancellation', () => {
    const requested = fold([{ type: 'job.started', attempt: 1, workerId: 'w' }, { type: 'job.cancel_requested' }]);
    expect(requested).toMatchObject({ state: 'running', cancelRequested: true });
    const cancelled = foldEvent(requested, '1-9', { type: 'job.cancelled', step: 'run_agent', jobId: 'j1', at: '2026-01-01T00:00:00Z' });
    expect(cancelled.state).toBe('cancelled');
    expect(cancelled.entries.at(-1)).toMatchObject({ kind: 'note', text: 'Cancelled during run_agent' });
    // The timeline it came from is untouched: the page may still be rendering it.
    expect(requested.state).toBe('running');
  });
});
