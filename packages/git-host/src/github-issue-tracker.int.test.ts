import { generateKeyPairSync } from 'node:crypto';
import { AppError, silentLogger } from '@tinyb/core';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { GitHubAppCredentials } from './github-app-credentials.js';
import { GitHubIssueTracker } from './github-issue-tracker.js';
import { PersonalTokenCredentials } from './personal-token-credentials.js';

const PAT = 'ghp_TinybIssueTrackerToken0123456789';
const APP_ID = 4343;
const repo = { owner: 'acme', name: 'app' };
const fast = { retry: { retries: 0 }, throttle: { enabled: false } };
const TRIGGER_PERMISSIONS = { issues: 'write', pull_requests: 'write' } as const;

describe('GitHubIssueTracker against the fake GitHub', () => {
  const appKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const signal = new AbortController().signal;
  let gh: FakeGitHub;

  beforeEach(async () => {
    gh = await startFakeGitHub({
      token: PAT,
      app: { id: APP_ID, slug: 'tinyb', publicKeyPem: appKey.publicKey, permissions: { contents: 'write', pull_requests: 'write', issues: 'write' } },
    });
    await gh.createRepo(repo.owner, repo.name, { files: { 'README.md': '# app\n' } });
  });
  afterEach(async () => {
    await gh.close();
  });

  const withToken = () => new GitHubIssueTracker({ credentials: new PersonalTokenCredentials({ token: PAT, apiUrl: gh.apiUrl, ...fast, logger: silentLogger }), logger: silentLogger });
  const withApp = () =>
    new GitHubIssueTracker({
      credentials: new GitHubAppCredentials({ appId: APP_ID, privateKey: appKey.privateKey, permissions: TRIGGER_PERMISSIONS, apiUrl: gh.apiUrl, ...fast, logger: silentLogger }),
      logger: silentLogger,
    });

  it.each([
    ['a personal token', withToken],
    ['a GitHub App installation token', withApp],
  ])('with %s: reads each user\'s role, reacts, and creates, lists and edits comments', async (_name, make) => {
    gh.installApp('acme');
    const tracker = make();
    gh.setRole('acme', 'app', 'alice', 'write');
    gh.setRole('acme', 'app', 'mia', 'maintain');
    gh.setRole('acme', 'app', 'tom', 'triage');
    expect(await tracker.roleOf(repo, 'alice', signal)).toBe('write');
    expect(await tracker.roleOf(repo, 'mia', signal)).toBe('maintain');
    expect(await tracker.roleOf(repo, 'tom', signal)).toBe('triage');
    expect(await tracker.roleOf(repo, 'stranger', signal)).toBe('none');
    expect(await tracker.roleOf(repo, 'acme', signal)).toBe('admin');

    const issue = gh.createIssue('acme', 'app', { title: 'Crash', user: 'alice' });
    const asked = gh.addIssueComment('acme', 'app', issue, { body: '/tinyb fix it', user: 'alice' });
    await tracker.react(repo, { kind: 'issue', number: issue }, 'eyes', signal);
    await tracker.react(repo, { kind: 'comment', id: asked.id }, 'eyes', signal);
    await tracker.react(repo, { kind: 'comment', id: asked.id }, 'eyes', signal); // again: harmless
    expect(gh.reactions('acme', 'app').map((r) => [r.target, r.content])).toEqual([
      [{ kind: 'issue', number: issue }, 'eyes'],
      [{ kind: 'comment', id: asked.id }, 'eyes'],
    ]);

    const reply = await tracker.createComment(repo, issue, 'queued', signal);
    expect(reply.url).toContain(`/acme/app/issues/${issue}#issuecomment-${reply.id}`);
    expect((await tracker.listComments(repo, issue, signal)).map((c) => c.body)).toEqual(['/tinyb fix it', 'queued']);
    await tracker.updateComment(repo, reply.id, 'done', signal);
    expect(gh.issueComments('acme', 'app', issue).map((c) => c.body)).toEqual(['/tinyb fix it', 'done']);
  });

  it('under an app, asks for the trigger permissions only, for that one repository', async () => {
    gh.installApp('acme');
    await withApp().roleOf(repo, 'alice', signal);
    expect(gh.accessTokenRequests).toEqual([expect.objectContaining({ repositories: ['app'], permissions: TRIGGER_PERMISSIONS, status: 201 })]);
  });

  it('fails with a typed error when the issue does not exist', async () => {
    const error = await withToken().createComment(repo, 999, 'x', signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'repo_not_found', retryable: false });
  });
});
