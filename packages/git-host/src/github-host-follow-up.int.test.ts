import { generateKeyPairSync } from 'node:crypto';
import { AppError, type Logger } from '@tinyb/core';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { GitHubAppCredentials } from './github-app-credentials.js';
import { GitHubHost } from './github-host.js';
import { PersonalTokenCredentials } from './personal-token-credentials.js';
import { gitOk } from './test-git.js';

const PAT = 'ghp_TinybFollowUpTestToken0123456789ab';
const APP_ID = 4343;
const repo = { owner: 'acme', name: 'widgets' };
const fast = { retry: { retries: 0 }, throttle: { enabled: false } };
const signal = new AbortController().signal;

/** The calls a follow-up on a pull request makes, in token mode and as a GitHub App, against the fake GitHub. */
describe.each(['token', 'app'] as const)('GitHubHost follow-up calls (%s)', (mode) => {
  const appKey = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  let gh: FakeGitHub;
  let host: GitHubHost;
  let logger: Logger;
  let pr: { number: number; branch: string; headSha: string };

  /** A commit on top of `parent` through the Git Data API, touching one file. */
  const commitOn = async (parent: string, path: string, content: string, message = `change ${path}`) =>
    host.createCommit(repo, { baseSha: parent, files: [{ path, change: 'added', mode: '100644', content: Buffer.from(content) }], message }, signal);

  beforeEach(async () => {
    gh = await startFakeGitHub({ token: PAT, app: { id: APP_ID, slug: 'tinyb-follow', publicKeyPem: appKey.publicKey } });
    logger = recordingLogger([]);
    await gh.createRepo('acme', 'widgets', { files: { 'README.md': '# Widgets\n' } });
    const credentials =
      mode === 'token'
        ? new PersonalTokenCredentials({ token: PAT, apiUrl: gh.apiUrl, ...fast, logger })
        : new GitHubAppCredentials({ appId: APP_ID, privateKey: appKey.privateKey, apiUrl: gh.apiUrl, ...fast, logger });
    if (mode === 'app') gh.installApp('acme', 'widgets');
    host = new GitHubHost({ credentials, gitUrl: gh.url, logger });
    const main = await host.resolveBranch(repo, 'main', signal);
    const first = await commitOn(main, 'a.txt', 'a\n');
    await host.pushBranch(repo, 'feature', first, signal);
    const opened = await host.openPullRequest(repo, { branch: 'feature', base: 'main', title: 'Add a', body: 'Adds **a**.', draft: false }, signal);
    pr = { number: opened.number, branch: 'feature', headSha: first };
  });

  afterEach(async () => {
    await gh.close();
  });

  it('reads a pull request: title, body, head branch and sha, state', async () => {
    await expect(host.getPullRequest(repo, pr.number, signal)).resolves.toEqual({
      number: pr.number,
      url: `${gh.url}/acme/widgets/pull/${pr.number}`,
      title: 'Add a',
      body: 'Adds **a**.',
      state: 'open',
      merged: false,
      head: { ref: 'feature', sha: pr.headSha, repoFullName: 'acme/widgets' },
      base: { ref: 'main' },
    });
    gh.mergePull('acme', 'widgets', pr.number);
    await expect(host.getPullRequest(repo, pr.number, signal)).resolves.toMatchObject({ state: 'closed', merged: true });
    await expect(host.getPullRequest(repo, 999, signal)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('tells a fork\'s pull request by its head repository', async () => {
    gh.setPullHeadRepo('acme', 'widgets', pr.number, { owner: 'mallory', name: 'widgets' });
    await expect(host.getPullRequest(repo, pr.number, signal)).resolves.toMatchObject({ head: { repoFullName: 'mallory/widgets' } });
  });

  it('lists conversation and review comments oldest first, and posts a comment', async () => {
    gh.addIssueComment('acme', 'widgets', pr.number, { body: 'Looks good so far', user: 'alice' });
    gh.addReviewComment('acme', 'widgets', pr.number, { body: 'Rename this file', path: 'a.txt', line: 1, user: 'bob' });
    const posted = await host.commentOnPullRequest(repo, pr.number, 'Done: renamed it.', signal);
    expect(posted.url).toMatch(new RegExp(`/acme/widgets/pull/${pr.number}#issuecomment-\\d+$`));
    const comments = await host.listPullRequestComments(repo, pr.number, signal);
    expect(comments.map(({ kind, author, body, path, line }) => ({ kind, author, body, path, line }))).toEqual([
      { kind: 'conversation', author: 'alice', body: 'Looks good so far', path: undefined, line: undefined },
      { kind: 'review', author: 'bob', body: 'Rename this file', path: 'a.txt', line: 1 },
      { kind: 'conversation', author: mode === 'app' ? 'tinyb-follow[bot]' : 'acme', body: 'Done: renamed it.', path: undefined, line: undefined },
    ]);
    expect(gh.issueComments('acme', 'widgets', pr.number).map((c) => c.body)).toEqual(['Looks good so far', 'Done: renamed it.']);
  });

  it('lists the pull request\'s commits and a commit\'s files', async () => {
    const second = await commitOn(pr.headSha, 'b.txt', 'b\n', 'Add b\n\nTiny-Backspace-Job: job-7');
    await host.advanceBranch(repo, 'feature', { from: pr.headSha, to: second }, signal);
    const commits = await host.listPullRequestCommits(repo, pr.number, signal);
    expect(commits.map((c) => c.sha)).toEqual([pr.headSha, second]);
    expect(commits[1]!.message).toContain('Tiny-Backspace-Job: job-7');
    await expect(host.getCommitFiles(repo, second, signal)).resolves.toEqual([{ path: 'b.txt', change: 'added' }]);
  });

  it('advances a branch fast-forward only: a moved branch fails pr_branch_moved and is never overwritten', async () => {
    const mine = await commitOn(pr.headSha, 'mine.txt', 'mine\n');
    const theirs = await commitOn(pr.headSha, 'theirs.txt', 'theirs\n');
    // Someone pushes first.
    await host.advanceBranch(repo, 'feature', { from: pr.headSha, to: theirs }, signal);
    const moved = await host.advanceBranch(repo, 'feature', { from: pr.headSha, to: mine }, signal).catch((e: unknown) => e);
    expect(moved).toBeInstanceOf(AppError);
    expect(moved).toMatchObject({ code: 'pr_branch_moved', retryable: false });
    expect(await host.resolveBranch(repo, 'feature', signal)).toBe(theirs);
    // Even when the pre-check is passed (a race), GitHub's force:false refuses a non-fast-forward.
    const sideways = await commitOn(pr.headSha, 'side.txt', 'side\n');
    const raced = await host.advanceBranch(repo, 'feature', { from: theirs, to: sideways }, signal).catch((e: unknown) => e);
    expect(raced).toMatchObject({ code: 'pr_branch_moved' });
    expect((await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'rev-parse', 'refs/heads/feature'])).trim()).toBe(theirs);
  });
});
