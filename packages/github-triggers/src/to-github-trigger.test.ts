import { SERVICE_COMMENT_MARKER } from '@tinyb/contracts';
import { issueCommentCreatedPayload, issuesLabeledPayload } from '@tinyb/testkit/github-webhook-deliveries';
import { commandPrompt, toGitHubTrigger, type TriggerRules } from './to-github-trigger.js';

const rules: TriggerRules = { githubUrl: 'https://github.example.com', label: 'tinyb', command: '/tinyb' };
const repo = { githubUrl: rules.githubUrl, owner: 'acme', repo: 'app' };
const alice = { login: 'alice' };
const at = '2026-01-01T00:00:00.000Z';

const labeled = (overrides: Partial<Parameters<typeof issuesLabeledPayload>[0]> = {}) =>
  issuesLabeledPayload({ ...repo, issue: { number: 7, title: 'Fix the crash', body: 'It crashes on start.' }, label: 'tinyb', sender: alice, ...overrides });
const commented = (body: string, overrides: Partial<Parameters<typeof issueCommentCreatedPayload>[0]> = {}) =>
  issueCommentCreatedPayload({ ...repo, issue: { number: 9, title: 'An issue' }, comment: { id: 555, body }, sender: alice, ...overrides });
const decide = (event: string, payload: unknown) => toGitHubTrigger({ event, deliveryId: 'd-1', payload, receivedAt: at }, rules);

describe('toGitHubTrigger: an issue labelled with the trigger label', () => {
  it('becomes a trigger whose prompt is the title and body', () => {
    expect(decide('issues', labeled())).toEqual({
      kind: 'trigger',
      trigger: {
        deliveryId: 'd-1',
        repo: { owner: 'acme', name: 'app' },
        sender: 'alice',
        source: { kind: 'issue_label', issueNumber: 7 },
        prompt: 'Fix the crash\n\nIt crashes on start.',
        receivedAt: at,
      },
    });
  });

  it('matches the label case-insensitively, as GitHub does', () => {
    expect(decide('issues', labeled({ label: 'TinyB' })).kind).toBe('trigger');
  });

  it('uses the title alone when the issue has no body', () => {
    const decision = decide('issues', labeled({ issue: { number: 7, title: 'Only a title', body: null } }));
    expect(decision).toMatchObject({ kind: 'trigger', trigger: { prompt: 'Only a title' } });
  });

  it('drops control characters GitHub text may carry, keeping newlines and tabs', () => {
    const decision = decide('issues', labeled({ issue: { number: 7, title: 'T\u0000itle', body: 'a\r\n\tb\u0007' } }));
    expect(decision).toMatchObject({ kind: 'trigger', trigger: { prompt: 'Title\n\na\n\tb' } });
  });

  it.each([
    ['another label', () => labeled({ label: 'bug' })],
    ['another action', () => ({ ...labeled(), action: 'unlabeled' })],
    ['a bot', () => labeled({ sender: { login: 'tinyb[bot]', type: 'Bot' } })],
    ['another host', () => labeled({ githubUrl: 'https://github.com' })],
    ['a payload without an issue', () => ({ ...labeled(), issue: undefined })],
  ])('is ignored when it comes from %s', (_name, payload) => {
    expect(decide('issues', payload())).toMatchObject({ kind: 'ignored', reason: expect.any(String) });
  });
});

describe('toGitHubTrigger: a /tinyb comment', () => {
  it('on an issue: a new job on the repository, fixing that issue', () => {
    expect(decide('issue_comment', commented('/tinyb add a README\nwith install steps'))).toEqual({
      kind: 'trigger',
      trigger: {
        deliveryId: 'd-1',
        repo: { owner: 'acme', name: 'app' },
        sender: 'alice',
        source: { kind: 'issue_comment', issueNumber: 9, commentId: 555 },
        prompt: 'add a README\nwith install steps',
        receivedAt: at,
      },
    });
  });

  it('on a pull request: a follow-up on it', () => {
    const decision = decide('issue_comment', commented('/tinyb rename the flag', { issue: { number: 12, title: 'A PR', pullRequest: true } }));
    expect(decision).toMatchObject({
      kind: 'trigger',
      trigger: { source: { kind: 'pull_request_comment', pullNumber: 12, pullUrl: 'https://github.example.com/acme/app/pull/12', commentId: 555 } },
    });
  });

  it.each([
    ['a comment that only mentions it', 'please /tinyb this'],
    ['another command', '/tinybot do it'],
    ['the command without a prompt', '/tinyb   '],
    ['a service comment quoting a command', `${SERVICE_COMMENT_MARKER}\n/tinyb do it`],
  ])('ignores %s', (_name, body) => {
    expect(decide('issue_comment', commented(body)).kind).toBe('ignored');
  });

  it('ignores edits and deletions, bots and other hosts', () => {
    expect(decide('issue_comment', { ...commented('/tinyb x'), action: 'edited' }).kind).toBe('ignored');
    expect(decide('issue_comment', commented('/tinyb x', { sender: { login: 'ci', type: 'Bot' } })).kind).toBe('ignored');
    expect(decide('issue_comment', commented('/tinyb x', { githubUrl: 'https://evil.example.com' })).kind).toBe('ignored');
  });
});

describe('toGitHubTrigger: other deliveries', () => {
  it.each(['ping', 'push', 'pull_request', 'star'])('ignores %s', (event) => {
    expect(decide(event, { zen: 'Keep it logically awesome.' })).toMatchObject({ kind: 'ignored' });
  });

  it('ignores a delivery id the queue cannot use', () => {
    const decision = toGitHubTrigger({ event: 'issues', deliveryId: 'a:b{c}', payload: labeled(), receivedAt: at }, rules);
    expect(decision.kind).toBe('ignored');
  });
});

describe('commandPrompt', () => {
  it.each([
    ['/tinyb fix it', 'fix it'],
    ['  /TINYB   fix it  ', 'fix it'],
    ['/tinyb\nmulti\nline', 'multi\nline'],
    ['/tinyb', ''],
    ['/tinybot x', undefined],
    ['hello /tinyb x', undefined],
  ])('%j → %j', (body, prompt) => {
    expect(commandPrompt(body, '/tinyb')).toBe(prompt);
  });
});
