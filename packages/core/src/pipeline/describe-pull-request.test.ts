import type { CodeJobData } from '@tinyb/contracts';
import { describePullRequest } from './describe-pull-request.js';
import type { CodeJob } from './run-code-job.js';

function job(prompt: string, overrides: Partial<CodeJobData> = {}): CodeJob {
  return {
    id: 'job-123',
    attempt: 1,
    data: {
      repo: { owner: 'octo', name: 'hello', url: 'https://github.com/octo/hello' },
      prompt,
      agent: 'claude-code',
      draft: false,
      requestedAt: '2025-01-01T00:00:00.000Z',
      ...overrides,
    },
  };
}

const files = [
  { path: 'README.md', change: 'added' as const },
  { path: 'src/index.ts', change: 'modified' as const },
  { path: 'old.txt', change: 'deleted' as const },
];

describe('describePullRequest: title', () => {
  it.each([
    ['a short prompt is the title', 'Add a README', 'Add a README'],
    ['only the first line', 'Add a README\nwith install steps\nand a badge', 'Add a README'],
    ['the first line trimmed', '   Add a README   \nmore', 'Add a README'],
    ['a Windows line ending is not kept', 'Add a README\r\nmore', 'Add a README'],
    ['exactly 72 characters are kept whole', 'x'.repeat(72), 'x'.repeat(72)],
    ['73 characters become 71 and an ellipsis', 'y'.repeat(73), `${'y'.repeat(71)}…`],
    ['a long first line is cut, later lines ignored', `${'z'.repeat(100)}\nshort`, `${'z'.repeat(71)}…`],
  ])('%s', (_name, prompt, title) => {
    expect(describePullRequest(job(prompt), 'summary', files).title).toBe(title);
  });

  it('is never longer than 72 characters', () => {
    for (const n of [1, 71, 72, 73, 200, 5000]) {
      expect(describePullRequest(job('w'.repeat(n)), '', []).title.length).toBeLessThanOrEqual(72);
    }
  });
});

describe('describePullRequest: body', () => {
  const prompt = 'Add a README\nInclude:\n- install\n- usage';
  const { body } = describePullRequest(job(prompt, { agent: 'gemini' }), '  Added README.md with install and usage.  \n', files);

  it('has the trimmed summary under its heading', () => {
    expect(body).toContain('## Summary\nAdded README.md with install and usage.\n');
  });

  it('lists every changed file with its kind of change', () => {
    expect(body).toContain('## Files changed\n- `README.md` (added)\n- `src/index.ts` (modified)\n- `old.txt` (deleted)\n');
  });

  it('quotes every line of the whole prompt', () => {
    expect(body).toContain('## Prompt\n> Add a README\n> Include:\n> - install\n> - usage\n');
  });

  it('names the agent and the job', () => {
    expect(body).toMatch(/Opened by Tiny Backspace \(agent `gemini`\), job `job-123`\.$/);
  });

  it('keeps its sections in order', () => {
    const order = ['## Summary', '## Files changed', '## Prompt', 'Opened by Tiny Backspace'].map((s) => body.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it.each(['', '   ', '\n\t\n'])('puts a placeholder for an empty summary (%j)', (summary) => {
    const d = describePullRequest(job('Fix it'), summary, files);
    expect(d.body).toContain('## Summary\n_The agent gave no summary._\n');
    expect(d.commitMessage).toBe('Fix it\n\n_The agent gave no summary._\n\nTiny-Backspace-Job: job-123');
  });

  it('bounds a huge summary and prompt', () => {
    const d = describePullRequest(job(`t\n${'p'.repeat(50_000)}`), 's'.repeat(50_000), files);
    expect(d.body).toContain(`## Summary\n${'s'.repeat(8_000)}\n`);
    expect(d.body).not.toContain('s'.repeat(8_001));
    expect(d.body).not.toContain('p'.repeat(8_000));
    expect(d.body.length).toBeLessThan(20_000);
  });
});

describe('describePullRequest: commit message', () => {
  it('is title, blank line, summary, blank line, job trailer', () => {
    const { commitMessage } = describePullRequest(job('Add a README\nlong details'), ' Added it. ', files);
    expect(commitMessage).toBe('Add a README\n\nAdded it.\n\nTiny-Backspace-Job: job-123');
  });

  it('uses the truncated title as its subject', () => {
    const { title, commitMessage } = describePullRequest(job('q'.repeat(90)), 'done', []);
    expect(commitMessage.split('\n')[0]).toBe(title);
    expect(title).toHaveLength(72);
  });

  it('ends with the trailer as its last line', () => {
    const { commitMessage } = describePullRequest(job('x'), 'line one\n\nline two', []);
    expect(commitMessage.split('\n').at(-1)).toBe('Tiny-Backspace-Job: job-123');
  });
});

describe('describePullRequest: the issue it fixes', () => {
  it('says `Fixes #N` on a line of its own, outside the quoted prompt, for a job asked for on an issue', () => {
    const { body } = describePullRequest(job('Fix the crash\nFixes nothing by itself'), 'done', files);
    expect(body).not.toMatch(/^Fixes #/m);
    const fixing = describePullRequest(job('Fix the crash', { fixesIssue: 42 }), 'done', files).body;
    expect(fixing.split('\n')).toContain('Fixes #42');
    expect(fixing).not.toContain('> Fixes #42');
  });
});

describe('describePullRequest: checks', () => {
  const run = (command: string, passed: boolean, more: object = {}) => ({
    command,
    setup: false,
    exitCode: passed ? 0 : 1,
    timedOut: false,
    durationMs: 1234,
    passed,
    outputTail: '',
    ...more,
  });

  it('has no checks section and no warning when no checks ran', () => {
    const { body } = describePullRequest(job('Add a README'), 'done', files);
    expect(body).not.toContain('## Checks');
    expect(body.startsWith('## Summary')).toBe(true);
  });

  it('passing checks: a table of command, outcome and duration, and no warning', () => {
    const { body } = describePullRequest(job('Add a README'), 'done', files, {
      runs: [run('npm test', true), run('npm run lint', true, { durationMs: 65_000 })],
      passed: true,
      fixRounds: 1,
    });
    expect(body.startsWith('## Summary')).toBe(true);
    expect(body).toContain(
      ['## Checks', '', '| Command | Outcome | Duration |', '| --- | --- | --- |', '| `npm test` | ✅ passed | 1.2 s |', '| `npm run lint` | ✅ passed | 1 min 5 s |'].join('\n'),
    );
    expect(body).toContain('The agent had 1 fix round after the first run of the checks.');
  });

  it('failing checks: the body opens by saying so, and the table shows how each failed', () => {
    const { body } = describePullRequest(job('Add a README'), 'done', files, {
      runs: [run('npm test', false), run('make lint | tee x', false, { exitCode: null, timedOut: true, durationMs: 600_000 })],
      passed: false,
      fixRounds: 2,
    });
    const firstLines = body.split('\n').slice(0, 2).join('\n');
    expect(firstLines).toContain("The repository's checks fail on this change");
    expect(firstLines).toContain('2 of 2 failed after 2 fix rounds');
    expect(firstLines).toContain('draft');
    expect(body).toContain('| `npm test` | ❌ exit code 1 | 1.2 s |');
    expect(body).toContain('| `make lint \\| tee x` | ❌ timed out after 600 s | 10 min 0 s |');
  });
});
