import type { JobEvent, NewJobEvent } from '@tinyb/contracts';
import { formatEvent } from './format-event.js';

const ev = (e: NewJobEvent): JobEvent => ({ ...e, jobId: 'job-1', at: '2025-03-04T13:14:15.678Z' }) as JobEvent;
const pr = { url: 'https://github.com/octo/hello/pull/9', number: 9, branch: 'tinyb/job-1' };

describe('formatEvent', () => {
  it.each<[NewJobEvent, string]>([
    [{ type: 'job.queued', repoUrl: 'https://github.com/octo/hello', agent: 'gemini', draft: false }, 'queued: https://github.com/octo/hello (agent gemini)'],
    [{ type: 'job.started', attempt: 2, workerId: 'host-1:42' }, 'started (attempt 2, worker host-1:42)'],
    [{ type: 'job.cancel_requested' }, 'cancel requested'],
    [{ type: 'job.recovered', attempt: 1, previousWorkerId: 'host-1:41', reason: 'worker_lost' }, 'attempt 1 lost its worker (host-1:41); taken over'],
    [{ type: 'job.recovered', attempt: 3, reason: 'worker_lost' }, 'attempt 3 lost its worker; taken over'],
    [
      { type: 'job.retrying', attempt: 1, delayMs: 15_000, error: { code: 'internal', message: 'socket hang up' } },
      'attempt 1 failed: internal: socket hang up; retrying in 15 s',
    ],
    [{ type: 'step.started', step: 'clone' }, '▸ clone'],
    [{ type: 'step.completed', step: 'clone', durationMs: 812, detail: 'main at 0123456789ab' }, '✓ clone (812 ms): main at 0123456789ab'],
    [{ type: 'step.completed', step: 'commit', durationMs: 3 }, '✓ commit (3 ms)'],
    [
      { type: 'step.failed', step: 'push_branch', durationMs: 5, error: { code: 'repo_access_denied', message: 'token cannot push' } },
      '✗ push_branch: repo_access_denied: token cannot push',
    ],
    [{ type: 'agent.message', text: 'Reading\n  the   tests' }, '  agent: Reading the tests'],
    [{ type: 'agent.tool_call', tool: 'Read', input: { path: 'src/a.ts' } }, '  tool Read: src/a.ts'],
    [{ type: 'agent.tool_call', tool: 'Bash', input: { command: 'npm\ntest' } }, '  tool Bash: npm test'],
    [{ type: 'agent.tool_call', tool: 'Grep', input: { pattern: 'TODO' } }, '  tool Grep: TODO'],
    [{ type: 'agent.tool_result', ok: true, output: '3 passing' }, '  ok: 3 passing'],
    [{ type: 'agent.tool_result', ok: false, output: 'exit 1' }, '  error: exit 1'],
    [{ type: 'agent.usage', inputTokens: 1200, outputTokens: 340 }, '  usage: 1200 in / 340 out'],
    [{ type: 'agent.usage', inputTokens: 1, outputTokens: 2, costUsd: 0.123456 }, '  usage: 1 in / 2 out, $0.1235'],
    [
      { type: 'git.committed', sha: '0123456789abcdef0123456789abcdef01234567', branch: 'b', filesChanged: [{ path: 'a', change: 'added' }, { path: 'b', change: 'modified' }] },
      'committed 0123456789ab (2 file(s))',
    ],
    [{ type: 'checks.started', commands: ['npm test', 'npm run lint'], source: 'detected', round: 0 }, '  checks: npm test, npm run lint'],
    [{ type: 'checks.started', commands: ['npm test'], source: 'file', round: 2 }, '  checks (after fix round 2): npm test'],
    [{ type: 'checks.started', commands: [], source: 'detected', round: 0 }, '  checks: none found'],
    [
      { type: 'check.completed', command: 'npm test', exitCode: 1, durationMs: 2345, passed: false, timedOut: false, outputTail: 'x', round: 0 },
      '  ✗ npm test (exit 1, 2.3 s)',
    ],
    [{ type: 'check.completed', command: 'make lint', exitCode: 0, durationMs: 80, passed: true, timedOut: false, outputTail: '', round: 1 }, '  ✓ make lint (exit 0, 80 ms)'],
    [
      { type: 'check.completed', command: 'go test ./...', exitCode: null, durationMs: 600_000, passed: false, timedOut: true, outputTail: '', round: 0 },
      '  ✗ go test ./... (timed out, 600.0 s)',
    ],
    [{ type: 'pr.created', ...pr, reused: false }, `pull request opened: ${pr.url}`],
    [{ type: 'pr.created', ...pr, reused: true }, `pull request reused: ${pr.url}`],
    [{ type: 'job.succeeded', result: { outcome: 'pr_opened', pr, summary: 'done', filesChanged: [] } }, `succeeded: ${pr.url}`],
    [
      { type: 'job.succeeded', result: { outcome: 'no_changes', summary: 'Already\ndocumented', filesChanged: [] } },
      'succeeded with no changes: Already documented',
    ],
    [{ type: 'job.failed', error: { code: 'agent_timeout', message: 'agent ran past 1200000 ms' } }, 'failed: agent_timeout: agent ran past 1200000 ms'],
    [{ type: 'job.cancelled', step: 'run_agent' }, 'cancelled'],
  ])('%j', (e, expected) => {
    expect(formatEvent(ev(e))).toBe(`13:14:15 ${expected}`);
  });

  it('is always a single line', () => {
    const text = 'line one\nline two\r\nline three';
    for (const e of [
      ev({ type: 'agent.message', text }),
      ev({ type: 'agent.tool_result', ok: true, output: text }),
      ev({ type: 'agent.tool_call', tool: 'Bash', input: { command: text } }),
    ]) {
      expect(formatEvent(e)).not.toMatch(/[\r\n]/);
    }
  });

  it('cuts long agent text to 160 characters, ending with an ellipsis', () => {
    const line = formatEvent(ev({ type: 'agent.message', text: 'a'.repeat(500) }));
    const shown = line.slice('13:14:15   agent: '.length);
    expect(shown).toBe(`${'a'.repeat(159)}…`);
  });

  it('keeps agent text of exactly 160 characters whole', () => {
    expect(formatEvent(ev({ type: 'agent.message', text: 'b'.repeat(160) }))).toBe(`13:14:15   agent: ${'b'.repeat(160)}`);
  });

  it('cuts tool output shorter, at 100 characters', () => {
    expect(formatEvent(ev({ type: 'agent.tool_result', ok: true, output: 'o'.repeat(101) }))).toBe(`13:14:15   ok: ${'o'.repeat(99)}…`);
  });

  it('collapses whitespace before measuring, so indentation does not eat the budget', () => {
    const text = `${' '.repeat(300)}short${'\n'.repeat(300)}`;
    expect(formatEvent(ev({ type: 'agent.message', text }))).toBe('13:14:15   agent: short');
  });
});
