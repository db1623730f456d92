import { JobEvent, isTerminalEvent, TERMINAL_EVENT_TYPES, type JobEventType } from './job-event.js';
import { CodeJobRequest, LegacyCodeRequest, MAX_PROMPT_CHARS } from './job-request.js';

const REPO = 'https://github.com/octo/hello';

/** `path: message` of every issue, or [] when the input parses. */
function problems(schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, input: unknown): string[] {
  const r = schema.safeParse(input);
  return r.success ? [] : r.error!.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
}

describe('CodeJobRequest', () => {
  it('parses a full request and trims the prompt', () => {
    const input = {
      repo_url: REPO,
      prompt: '  \n Add a README \n\t',
      agent: 'claude-code',
      model: 'claude-sonnet-4-5',
      base_branch: 'release/1.x',
      draft: true,
    };
    expect(CodeJobRequest.parse(input)).toEqual({ ...input, prompt: 'Add a README' });
  });

  it('leaves optional fields absent rather than filling them', () => {
    expect(CodeJobRequest.parse({ repo_url: REPO, prompt: 'x' })).toEqual({ repo_url: REPO, prompt: 'x' });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['missing repo_url', { prompt: 'x' }, /^repo_url: /],
    ['empty repo_url', { repo_url: '', prompt: 'x' }, /^repo_url: is required$/],
    ['over-long repo_url', { repo_url: `${REPO}/${'a'.repeat(2048)}`, prompt: 'x' }, /^repo_url: /],
    ['missing prompt', { repo_url: REPO }, /^prompt: /],
    ['empty prompt', { repo_url: REPO, prompt: '' }, /^prompt: is required$/],
    ['whitespace-only prompt', { repo_url: REPO, prompt: ' \n\t ' }, /^prompt: is required$/],
    ['over-long prompt', { repo_url: REPO, prompt: 'p'.repeat(MAX_PROMPT_CHARS + 1) }, /^prompt: must be at most 20000 characters$/],
    ['non-string prompt', { repo_url: REPO, prompt: 42 }, /^prompt: /],
    ['empty agent', { repo_url: REPO, prompt: 'x', agent: '' }, /^agent: /],
    ['over-long agent', { repo_url: REPO, prompt: 'x', agent: 'a'.repeat(65) }, /^agent: /],
    ['over-long model', { repo_url: REPO, prompt: 'x', model: 'm'.repeat(129) }, /^model: /],
    ['draft as a string', { repo_url: REPO, prompt: 'x', draft: 'true' }, /^draft: /],
    ['a NUL in the prompt', { repo_url: REPO, prompt: 'fix\u0000it' }, /^prompt: must not contain control characters/],
    ['an escape sequence in the prompt', { repo_url: REPO, prompt: 'fix \u001b[2J it' }, /^prompt: must not contain control characters/],
    ['a model with a space', { repo_url: REPO, prompt: 'x', model: 'gpt 4' }, /^model: must be a model name/],
    ['a model read as an option', { repo_url: REPO, prompt: 'x', model: '--dangerously-skip-permissions' }, /^model: must be a model name/],
    ['a model with a NUL', { repo_url: REPO, prompt: 'x', model: 'm\u0000' }, /^model: must be a model name/],
    ['a requester over two lines', { repo_url: REPO, prompt: 'x', requested_by: '@octo\n## Approved by security' }, /^requested_by: must be one line/],
    ['an unknown key (strict)', { repo_url: REPO, prompt: 'x', repoUrl: REPO }, /repoUrl/],
    ['a secret smuggled in', { repo_url: REPO, prompt: 'x', github_token: 'ghp_x' }, /github_token/],
  ])('refuses %s', (_name, input, expected) => {
    const found = problems(CodeJobRequest, input);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
  });

  it('keeps tabs and newlines in a prompt, and takes model names as the vendors write them', () => {
    expect(CodeJobRequest.parse({ repo_url: REPO, prompt: '- fix the bug\r\n\t- add tests' }).prompt).toBe('- fix the bug\r\n\t- add tests');
    for (const model of ['claude-sonnet-4-5', 'gemini-2.5-pro', 'openai/gpt-4o', 'anthropic.claude-3-5-sonnet-20241022-v2:0', 'llama3:8b', 'gpt-4o@2024-08-06', 'sonnet[1m]']) {
      expect(CodeJobRequest.parse({ repo_url: REPO, prompt: 'x', model }).model).toBe(model);
    }
  });

  it('measures the prompt limit after trimming', () => {
    const atLimit = 'p'.repeat(MAX_PROMPT_CHARS);
    expect(CodeJobRequest.parse({ repo_url: REPO, prompt: `  ${atLimit}\n` }).prompt).toBe(atLimit);
  });

  it('accepts repo_url and agent at their limits', () => {
    expect(problems(CodeJobRequest, { repo_url: 'r'.repeat(2048), prompt: 'x', agent: 'a'.repeat(64), model: 'm'.repeat(128) })).toEqual([]);
  });

  it.each(['main', 'master', 'release/1.x', 'feature/JIRA-123_fix', 'v1.2.3', 'a', 'deps/bump.lib'])('accepts base_branch %j', (branch) => {
    expect(CodeJobRequest.parse({ repo_url: REPO, prompt: 'x', base_branch: branch }).base_branch).toBe(branch);
  });

  it.each([
    '',
    '-main', // would read as an option to git
    'main..evil',
    'a//b',
    'main/',
    'main.',
    'has space',
    'tab\there',
    'main~1',
    'main^',
    'a:b',
    'what?',
    'st*r',
    'br[0]',
    'back\\slash',
    '@{-1}',
    'ünïcode',
    'b'.repeat(256),
  ])('refuses base_branch %j', (branch) => {
    const found = problems(CodeJobRequest, { repo_url: REPO, prompt: 'x', base_branch: branch });
    expect(found).not.toEqual([]);
    expect(found.every((p) => p.startsWith('base_branch: '))).toBe(true);
  });

  it('names the branch rule in its message', () => {
    expect(problems(CodeJobRequest, { repo_url: REPO, prompt: 'x', base_branch: 'a..b' })).toEqual([
      'base_branch: must be a valid git branch name',
    ]);
  });
});

describe('LegacyCodeRequest', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['repoUrl (camelCase, the original client)', { repoUrl: REPO, prompt: 'x' }, REPO],
    ['repo_url', { repo_url: REPO, prompt: 'x' }, REPO],
    ['repo_url over repoUrl when both are given', { repo_url: REPO, repoUrl: 'https://github.com/other/repo', prompt: 'x' }, REPO],
  ])('takes %s', (_name, input, expected) => {
    expect(LegacyCodeRequest.parse(input).repo_url).toBe(expected);
  });

  it('carries checks through, validated as on POST /api/jobs', () => {
    expect(LegacyCodeRequest.parse({ repoUrl: REPO, prompt: 'x', checks: ['npm test'] }).checks).toEqual(['npm test']);
    expect(LegacyCodeRequest.safeParse({ repoUrl: REPO, prompt: 'x', checks: 'npm test' }).success).toBe(false);
    expect(LegacyCodeRequest.safeParse({ repoUrl: REPO, prompt: 'x', checks: Array(11).fill('make') }).success).toBe(false);
  });

  it('becomes a CodeJobRequest: prompt trimmed, agent kept, unknown keys dropped', () => {
    expect(LegacyCodeRequest.parse({ repoUrl: REPO, prompt: '  fix it \n', agent: 'gemini', extra: 1 })).toEqual({
      repo_url: REPO,
      prompt: 'fix it',
      agent: 'gemini',
    });
  });

  it('adds no agent key when none was given', () => {
    expect(Object.keys(LegacyCodeRequest.parse({ repoUrl: REPO, prompt: 'x' })).sort()).toEqual(['prompt', 'repo_url']);
  });

  it('refuses a body with neither repoUrl nor repo_url, naming repo_url', () => {
    expect(problems(LegacyCodeRequest, { prompt: 'x' })).toEqual(['repo_url: is required']);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an empty prompt', { repoUrl: REPO, prompt: '  ' }, /^prompt: is required$/],
    ['a missing prompt', { repoUrl: REPO }, /^prompt: /],
    ['a non-string repoUrl', { repoUrl: 7, prompt: 'x' }, /^repoUrl: /],
  ])('refuses %s', (_name, input, expected) => {
    const found = problems(LegacyCodeRequest, input);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
  });
});

describe('JobEvent', () => {
  const base = { jobId: 'job-1', at: '2025-01-02T03:04:05.678Z' };
  const error = { code: 'agent_failed', message: 'model said no', step: 'run_agent' } as const;
  const result = {
    outcome: 'pr_opened',
    pr: { url: 'https://github.com/octo/hello/pull/7', number: 7, branch: 'tinyb/job-1' },
    filesChanged: [{ path: 'README.md', change: 'added' }],
    summary: 'Added a README',
    usage: { inputTokens: 10, outputTokens: 20, costUsd: 0.01 },
  } as const;

  // One of each type; `satisfies` makes this table fail to compile if a type is missing or misspelled.
  const samples = {
    'job.queued': { repoUrl: 'https://github.com/octo/hello', agent: 'claude-code', baseBranch: 'main', draft: false },
    'job.started': { attempt: 1, workerId: 'w-1' },
    'job.recovered': { attempt: 1, previousWorkerId: 'w-1', reason: 'worker_lost' },
    'job.cancel_requested': {},
    'job.retrying': { attempt: 1, error, delayMs: 15000 },
    'step.started': { step: 'clone' },
    'step.completed': { step: 'clone', durationMs: 12, detail: 'main at abc' },
    'step.failed': { step: 'run_agent', durationMs: 5, error },
    'agent.message': { text: 'Reading the code' },
    'agent.tool_call': { tool: 'Read', callId: 'c1', input: { path: 'README.md' } },
    'agent.tool_result': { tool: 'Read', callId: 'c1', ok: true, output: '# hello' },
    'agent.usage': { inputTokens: 1, outputTokens: 2 },
    'checks.started': { commands: ['npm test'], source: 'detected', round: 0 },
    'check.completed': { command: 'npm test', exitCode: 1, durationMs: 830, passed: false, timedOut: false, outputTail: 'not ok 1', round: 1 },
    'git.committed': { sha: 'a'.repeat(40), branch: 'tinyb/job-1', filesChanged: [{ path: 'a', change: 'deleted' }] },
    'pr.created': { url: 'https://github.com/octo/hello/pull/7', number: 7, branch: 'tinyb/job-1', reused: false },
    'job.succeeded': { result: { ...result, checks: [{ command: 'npm test', exitCode: null, durationMs: 600000, passed: false, timedOut: true }] } },
    'job.failed': { error },
    'job.cancelled': { step: 'run_agent' },
  } satisfies Record<JobEventType, object>;

  const all = Object.entries(samples).map(([type, fields]) => ({ type, ...base, ...fields }));

  it.each(all.map((e) => [e.type, e] as const))('%s round-trips through JSON unchanged', (_type, event) => {
    const parsed = JobEvent.parse(JSON.parse(JSON.stringify(event)));
    expect(parsed).toEqual(event);
  });

  it.each<[string, object]>([
    ['an unknown type', { type: 'job.exploded', ...base }],
    ['a missing jobId', { type: 'job.cancel_requested', at: base.at }],
    ['a missing at', { type: 'job.cancel_requested', jobId: 'j' }],
    ['a step outside the pipeline', { type: 'step.started', ...base, step: 'deploy' }],
    ['an attempt of 0', { type: 'job.started', ...base, attempt: 0, workerId: 'w' }],
    ['a fractional attempt', { type: 'job.started', ...base, attempt: 1.5, workerId: 'w' }],
    ['a negative duration', { type: 'step.completed', ...base, step: 'clone', durationMs: -1 }],
    ['an unknown error code', { type: 'job.failed', ...base, error: { code: 'oops', message: 'm' } }],
    ['an unknown file change', { type: 'git.committed', ...base, sha: 's', branch: 'b', filesChanged: [{ path: 'a', change: 'renamed' }] }],
    ['an unknown outcome', { type: 'job.succeeded', ...base, result: { ...result, outcome: 'merged' } }],
    ['negative tokens', { type: 'agent.usage', ...base, inputTokens: -1, outputTokens: 0 }],
  ])('refuses %s', (_name, input) => {
    expect(JobEvent.safeParse(input).success).toBe(false);
  });

  it('has a sample for exactly the types the schema knows', () => {
    const schemaTypes = JobEvent.options.map((o) => o.shape.type.value).sort();
    expect(Object.keys(samples).sort()).toEqual(schemaTypes);
  });

  describe('isTerminalEvent', () => {
    const terminal = new Set<string>(['job.succeeded', 'job.failed', 'job.cancelled']);
    it.each(all.map((e) => [e.type, terminal.has(e.type)] as const))('%s → %s', (type, expected) => {
      expect(isTerminalEvent({ type: type as JobEventType })).toBe(expected);
    });

    it('lists the same terminal types', () => {
      expect([...TERMINAL_EVENT_TYPES].sort()).toEqual([...terminal].sort());
    });
  });
});
