import { Step, type JobEvent, type NewJobEvent, type ToolInputView } from '@tinyb/contracts';
import { LegacyTranslator, type LegacyFrame } from './legacy-events.js';

const ev = (e: NewJobEvent): JobEvent => ({ ...e, jobId: 'job-1', at: '2025-01-01T00:00:00.000Z' }) as JobEvent;

/** Translates events in order through one translator, as the /code stream does. */
function translateAll(events: NewJobEvent[]): LegacyFrame[] {
  const t = new LegacyTranslator();
  return events.flatMap((e) => t.translate(ev(e)));
}

describe('LegacyTranslator: tool calls of each agent CLI', () => {
  it.each<[string, string, ToolInputView, LegacyFrame]>([
    // Claude Code's names
    ['Claude', 'Read', { path: 'src/a.ts' }, { type: 'Tool: Read', filepath: 'src/a.ts' }],
    ['Claude', 'Write', { path: 'NEW.md', newText: 'x' }, { type: 'Tool: Write', filepath: 'NEW.md' }],
    ['Claude', 'Edit', { path: 'a.ts', oldText: 'foo', newText: 'bar' }, { type: 'Tool: Edit', filepath: 'a.ts', old_str: 'foo', new_str: 'bar' }],
    ['Claude', 'MultiEdit', { path: 'a.ts', oldText: 'o', newText: 'n' }, { type: 'Tool: Edit', filepath: 'a.ts', old_str: 'o', new_str: 'n' }],
    // Gemini CLI's names map onto the same frames
    ['Gemini', 'read_file', { path: 'src/a.ts' }, { type: 'Tool: Read', filepath: 'src/a.ts' }],
    ['Gemini', 'write_file', { path: 'NEW.md' }, { type: 'Tool: Write', filepath: 'NEW.md' }],
    ['Gemini', 'replace', { path: 'a.ts', oldText: 'foo', newText: 'bar' }, { type: 'Tool: Edit', filepath: 'a.ts', old_str: 'foo', new_str: 'bar' }],
    // missing fields become empty strings, never undefined
    ['any', 'Edit', {}, { type: 'Tool: Edit', filepath: '', old_str: '', new_str: '' }],
    ['any', 'read_file', {}, { type: 'Tool: Read', filepath: '' }],
  ])('%s %s → its legacy frame', (_agent, tool, input, frame) => {
    expect(translateAll([{ type: 'agent.tool_call', tool, callId: 'c1', input }])).toEqual([frame]);
  });

  it.each(['Bash', 'run_shell_command', 'run_command'])('%s is held until its result, then one Tool: Bash frame', (tool) => {
    const t = new LegacyTranslator();
    expect(t.translate(ev({ type: 'agent.tool_call', tool, callId: 'b1', input: { command: 'npm test' } }))).toEqual([]);
    expect(t.translate(ev({ type: 'agent.tool_result', tool, callId: 'b1', ok: false, output: '1 failing' }))).toEqual([
      { type: 'Tool: Bash', command: 'npm test', output: '1 failing' },
    ]);
  });

  it('pairs interleaved Bash calls with their own results by callId, once each', () => {
    expect(
      translateAll([
        { type: 'agent.tool_call', tool: 'Bash', callId: 'b1', input: { command: 'ls' } },
        { type: 'agent.tool_call', tool: 'run_shell_command', callId: 'b2', input: { command: 'pwd' } },
        { type: 'agent.tool_result', callId: 'b2', ok: true, output: '/work' },
        { type: 'agent.tool_result', callId: 'b1', ok: true, output: 'README.md' },
        { type: 'agent.tool_result', callId: 'b1', ok: true, output: 'a duplicate result' },
      ]),
    ).toEqual([
      { type: 'Tool: Bash', command: 'pwd', output: '/work' },
      { type: 'Tool: Bash', command: 'ls', output: 'README.md' },
    ]);
  });

  it('sends a Bash call without a callId at once, with empty output', () => {
    expect(translateAll([{ type: 'agent.tool_call', tool: 'Bash', input: { command: 'make' } }])).toEqual([
      { type: 'Tool: Bash', command: 'make', output: '' },
    ]);
  });

  it.each<[string, NewJobEvent]>([
    ['of a non-Bash tool', { type: 'agent.tool_result', tool: 'Read', callId: 'c1', ok: true, output: '# file' }],
    ['with an unknown callId', { type: 'agent.tool_result', callId: 'nope', ok: true, output: 'x' }],
    ['without a callId', { type: 'agent.tool_result', ok: true, output: 'x' }],
  ])('drops a tool result %s', (_name, e) => {
    expect(translateAll([e])).toEqual([]);
  });

  it('does not let one translator see another job\'s pending calls', () => {
    const a = new LegacyTranslator();
    const b = new LegacyTranslator();
    a.translate(ev({ type: 'agent.tool_call', tool: 'Bash', callId: 'b1', input: { command: 'ls' } }));
    expect(b.translate(ev({ type: 'agent.tool_result', callId: 'b1', ok: true, output: 'x' }))).toEqual([]);
  });

  it.each(['Grep', 'glob', 'web_fetch', 'TodoWrite'])('emits an unknown tool %s as progress of run_agent', (tool) => {
    expect(translateAll([{ type: 'agent.tool_call', tool, input: { pattern: 'x' } }])).toEqual([
      { type: 'progress', stage: 'run_agent', message: `Tool: ${tool}` },
    ]);
  });

  // Tool names come from agent output; an inherited property must not be taken for a mapping.
  it.each(['toString', 'constructor', '__proto__', 'hasOwnProperty'])('emits a tool named %j as progress, not undefined', (tool) => {
    expect(translateAll([{ type: 'agent.tool_call', tool, input: {} }])).toEqual([
      { type: 'progress', stage: 'run_agent', message: `Tool: ${tool}` },
    ]);
  });
});

describe('LegacyTranslator: job lifecycle', () => {
  const pr = { url: 'https://github.com/octo/hello/pull/9', number: 9, branch: 'tinyb/job-1' };

  it.each<[string, NewJobEvent, LegacyFrame[]]>([
    ['job.queued', { type: 'job.queued', repoUrl: 'u', agent: 'a', draft: false }, [{ type: 'progress', stage: 'queued', message: 'Job queued' }]],
    ['job.started', { type: 'job.started', attempt: 2, workerId: 'w' }, [{ type: 'progress', stage: 'started', message: 'Job started (attempt 2)' }]],
    [
      'job.retrying',
      { type: 'job.retrying', attempt: 1, delayMs: 10, error: { code: 'internal', message: 'socket hang up' } },
      [{ type: 'progress', stage: 'retrying', message: 'Attempt 1 failed (socket hang up); retrying' }],
    ],
    [
      'job.recovered',
      { type: 'job.recovered', attempt: 1, previousWorkerId: 'host:42', reason: 'worker_lost' },
      [{ type: 'progress', stage: 'recovered', message: 'Attempt 1 lost its worker; another worker took over' }],
    ],
    ['job.cancel_requested', { type: 'job.cancel_requested' }, [{ type: 'progress', stage: 'cancelling', message: 'Cancellation requested' }]],
    ['step.started clone', { type: 'step.started', step: 'clone' }, [{ type: 'progress', stage: 'clone', message: 'Cloning repository' }]],
    ['step.started open_pr', { type: 'step.started', step: 'open_pr' }, [{ type: 'progress', stage: 'open_pr', message: 'Opening pull request' }]],
    ['agent.message', { type: 'agent.message', text: 'Looking at the tests' }, [{ type: 'AI Message', message: 'Looking at the tests' }]],
    ['step.completed', { type: 'step.completed', step: 'clone', durationMs: 1 }, []],
    ['step.failed', { type: 'step.failed', step: 'clone', durationMs: 1, error: { code: 'clone_failed', message: 'm' } }, []],
    ['agent.usage', { type: 'agent.usage', inputTokens: 1, outputTokens: 1 }, []],
    ['git.committed', { type: 'git.committed', sha: 's', branch: 'b', filesChanged: [] }, []],
    ['pr.created', { type: 'pr.created', ...pr, reused: false }, []],
    [
      'checks.started',
      { type: 'checks.started', commands: ['npm test', 'npm run lint'], source: 'detected', round: 0 },
      [{ type: 'progress', stage: 'run_checks', message: 'Checks: npm test, npm run lint' }],
    ],
    [
      'check.completed (failed)',
      { type: 'check.completed', command: 'npm test', exitCode: 1, durationMs: 900, passed: false, timedOut: false, outputTail: 'x', round: 0 },
      [{ type: 'progress', stage: 'run_checks', message: 'Failed: npm test (exit 1)' }],
    ],
    [
      'check.completed (timed out)',
      { type: 'check.completed', command: 'npm test', exitCode: null, durationMs: 600_000, passed: false, timedOut: true, outputTail: '', round: 1 },
      [{ type: 'progress', stage: 'run_checks', message: 'Failed: npm test (timed out after 600 s)' }],
    ],
    ['job.failed', { type: 'job.failed', error: { code: 'repo_not_found', message: 'no such repository' } }, [{ type: 'error', message: 'no such repository' }]],
    ['job.cancelled', { type: 'job.cancelled', step: 'run_agent' }, [{ type: 'error', message: 'job was cancelled' }]],
  ])('%s', (_name, e, frames) => {
    expect(translateAll([e])).toEqual(frames);
  });

  it('gives every step a readable progress message', () => {
    const steps = Step.options;
    const frames = translateAll(steps.map((step) => ({ type: 'step.started', step })));
    for (const [i, f] of frames.entries()) {
      expect(f).toMatchObject({ type: 'progress', stage: steps[i] });
      expect((f as { message: string }).message).not.toBe(steps[i]);
    }
  });

  it('job.succeeded with a PR: pr_created, then complete with its url', () => {
    const frames = translateAll([
      {
        type: 'job.succeeded',
        result: {
          outcome: 'pr_opened',
          pr,
          summary: 'Added docs',
          filesChanged: [
            { path: 'README.md', change: 'added' },
            { path: 'old.md', change: 'deleted' },
          ],
        },
      },
    ]);
    expect(frames).toEqual([
      { type: 'pr_created', pr_url: pr.url, branch_name: pr.branch, files_changed: ['README.md', 'old.md'], summary: 'Added docs' },
      { type: 'complete', pr_url: pr.url, summary: 'Added docs' },
    ]);
  });

  it('job.succeeded with no PR: only complete, with pr_url null', () => {
    const frames = translateAll([
      { type: 'job.succeeded', result: { outcome: 'no_changes', summary: 'Nothing to change', filesChanged: [] } },
    ]);
    expect(frames).toEqual([{ type: 'complete', pr_url: null, summary: 'Nothing to change' }]);
  });
});
