import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, CancelledError, type ChangedFile } from '@tinyb/core';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { createGitHubOctokit } from './create-github-octokit.js';
import { GitHubHost } from './github-host.js';
import { PersonalTokenCredentials } from './personal-token-credentials.js';
import { accessTokenBasic, extractTar, git, gitOk, leftInPrivateTmpdir } from './test-git.js';

const TOKEN = 'ghp_TinybIntegrationToken0123456789abcd';
const BASIC = accessTokenBasic(TOKEN);
const repo = { owner: 'acme', name: 'widgets' };

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

/** What the pipeline does inside the sandbox: stage everything, diff against the base, read modes and contents. */
async function changedFiles(workdir: string, baseSha: string): Promise<ChangedFile[]> {
  await gitOk(['add', '-A'], { cwd: workdir });
  const nameStatus = await gitOk(['diff', '--cached', '--name-status', '--no-renames', baseSha], { cwd: workdir });
  const files: ChangedFile[] = [];
  for (const line of nameStatus.split('\n').filter((l) => l !== '')) {
    const [status, filePath = ''] = line.split('\t');
    if (status === 'D') {
      files.push({ path: filePath, change: 'deleted', mode: '100644' });
      continue;
    }
    const staged = await gitOk(['ls-files', '-s', '--', filePath], { cwd: workdir });
    const mode = staged.split(' ')[0];
    if (mode !== '100644' && mode !== '100755' && mode !== '120000') throw new Error(`unexpected mode ${String(mode)}`);
    files.push({ path: filePath, change: status === 'A' ? 'added' : 'modified', mode, content: await readFile(path.join(workdir, filePath)) });
  }
  return files;
}

describe('GitHubHost against the fake GitHub', () => {
  let gh: FakeGitHub;
  let tmp: string;
  let logLines: string[];
  let host: GitHubHost;
  const signal = new AbortController().signal;

  const makeHost = (token: string, retry = { retries: 2, retryAfterBaseValueMs: 5 }): GitHubHost => {
    const logger = recordingLogger(logLines);
    const octokit = createGitHubOctokit({ token, apiUrl: gh.apiUrl, retry, throttle: { enabled: false }, logger });
    return new GitHubHost({ octokit, gitUrl: gh.url, token, logger });
  };

  beforeEach(async () => {
    gh = await startFakeGitHub({ token: TOKEN });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyb-git-host-test-'));
    logLines = [];
    await gh.createRepo('acme', 'widgets', {
      files: {
        'README.md': '# Widgets\n',
        'src/index.ts': 'export const answer = 41;\n',
        'src/old.txt': 'to be deleted\n',
      },
    });
    await gh.createRepo('acme', 'secret', { files: { 'NOTES.md': 'private\n' }, private: true, defaultBranch: 'trunk' });
    host = makeHost(TOKEN);
  });

  afterEach(async () => {
    await gh.close();
    await rm(tmp, { recursive: true, force: true });
    for (const line of logLines) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(BASIC);
    }
  });

  it('reads repository metadata and resolves branches', async () => {
    await expect(host.getRepo(repo, signal)).resolves.toEqual({ defaultBranch: 'main', private: false });
    await expect(host.getRepo({ owner: 'acme', name: 'secret' }, signal)).resolves.toEqual({ defaultBranch: 'trunk', private: true });
    const sha = await host.resolveBranch(repo, 'main', signal);
    expect(sha).toBe(await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'rev-parse', 'refs/heads/main']));
    await expect(host.resolveBranch(repo, 'nope', signal)).rejects.toMatchObject({ code: 'branch_not_found' });
  });

  it('clones, commits changes through the Git Data API, pushes a branch and opens a pull request', async () => {
    const baseSha = await host.resolveBranch(repo, 'main', signal);
    const checkout = await host.downloadCheckout(repo, 'main', signal);
    expect(checkout.sha).toBe(baseSha);

    // The archive, and everything in it, is free of the credential.
    const archiveText = Buffer.from(checkout.archive).toString('latin1');
    expect(archiveText).not.toContain(TOKEN);
    expect(archiveText).not.toContain(BASIC);
    const workdir = path.join(tmp, 'work');
    await mkdir(workdir);
    await extractTar(checkout.archive, workdir);
    const gitConfig = await readFile(path.join(workdir, '.git', 'config'), 'utf8');
    expect(gitConfig).not.toContain(TOKEN);
    expect(gitConfig).not.toContain(BASIC);
    expect(gitConfig).not.toMatch(/extraheader|authorization/i);
    for (const file of await filesUnder(workdir)) {
      const bytes = await readFile(file);
      expect(bytes.includes(TOKEN)).toBe(false);
      expect(bytes.includes(BASIC)).toBe(false);
    }
    expect(await gitOk(['rev-parse', 'HEAD'], { cwd: workdir })).toBe(baseSha);
    expect(await readFile(path.join(workdir, 'README.md'), 'utf8')).toBe('# Widgets\n');

    // What an agent might do: modify, add in a new directory, delete, add an executable.
    await writeFile(path.join(workdir, 'README.md'), '# Widgets\n\nNow with more widgets.\n');
    await mkdir(path.join(workdir, 'src', 'deep', 'er'), { recursive: true });
    await writeFile(path.join(workdir, 'src', 'deep', 'er', 'new.ts'), 'export const fresh = true;\n');
    await unlink(path.join(workdir, 'src', 'old.txt'));
    await mkdir(path.join(workdir, 'scripts'));
    await writeFile(path.join(workdir, 'scripts', 'run.sh'), '#!/bin/sh\necho run\n');
    await chmod(path.join(workdir, 'scripts', 'run.sh'), 0o755);
    const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
    await writeFile(path.join(workdir, 'logo.bin'), binary);

    const files = await changedFiles(workdir, baseSha);
    expect(files.map((f) => `${f.change} ${f.mode} ${f.path}`).sort()).toEqual([
      'added 100644 logo.bin',
      'added 100644 src/deep/er/new.ts',
      'added 100755 scripts/run.sh',
      'deleted 100644 src/old.txt',
      'modified 100644 README.md',
    ]);

    const sha = await host.createCommit(repo, { baseSha, files, message: 'Add more widgets\n\nBy the agent.' }, signal);
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    await host.pushBranch(repo, 'agent/job-1', sha, signal);
    const pr = await host.openPullRequest(
      repo,
      { branch: 'agent/job-1', base: 'main', title: 'More widgets', body: 'Made by Tiny Backspace', draft: true },
      signal,
    );
    expect(pr).toEqual({ url: `${gh.url}/acme/widgets/pull/1`, number: 1, branch: 'agent/job-1', reused: false });
    expect(gh.pulls('acme', 'widgets')).toEqual([
      expect.objectContaining({ number: 1, title: 'More widgets', body: 'Made by Tiny Backspace', draft: true, head: { ref: 'agent/job-1', sha }, base: { ref: 'main', sha: baseSha } }),
    ]);

    // Clone the pushed branch back and compare it byte for byte.
    const result = path.join(tmp, 'result');
    await gitOk(['clone', '--quiet', '--branch', 'agent/job-1', `${gh.url}/acme/widgets.git`, result]);
    expect(await gitOk(['rev-parse', 'HEAD'], { cwd: result })).toBe(sha);
    expect(await gitOk(['rev-parse', 'HEAD^'], { cwd: result })).toBe(baseSha);
    expect(await gitOk(['log', '-1', '--format=%B'], { cwd: result })).toBe('Add more widgets\n\nBy the agent.');
    expect(await gitOk(['ls-files'], { cwd: result })).toBe(['README.md', 'logo.bin', 'scripts/run.sh', 'src/deep/er/new.ts', 'src/index.ts'].join('\n'));
    expect(await readFile(path.join(result, 'README.md'), 'utf8')).toBe('# Widgets\n\nNow with more widgets.\n');
    expect(await readFile(path.join(result, 'src', 'deep', 'er', 'new.ts'), 'utf8')).toBe('export const fresh = true;\n');
    expect(await readFile(path.join(result, 'src', 'index.ts'), 'utf8')).toBe('export const answer = 41;\n');
    expect(Buffer.compare(await readFile(path.join(result, 'logo.bin')), binary)).toBe(0);
    await expect(stat(path.join(result, 'src', 'old.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await gitOk(['ls-files', '-s', 'scripts/run.sh'], { cwd: result })).toMatch(/^100755 /);
    expect((await stat(path.join(result, 'scripts', 'run.sh'))).mode & 0o111).not.toBe(0);

    // Every REST call was authenticated; the git traffic of the host's clone was too.
    expect(gh.requests.filter((r) => r.kind === 'api').every((r) => r.hasAuth)).toBe(true);
  });

  it('authors its commits as the configured commit author (token mode)', async () => {
    const logger = recordingLogger(logLines);
    const octokit = createGitHubOctokit({ token: TOKEN, apiUrl: gh.apiUrl, retry: { retries: 0 }, throttle: { enabled: false }, logger });
    const credentials = new PersonalTokenCredentials({ token: TOKEN, octokit });
    const authored = new GitHubHost({ credentials, gitUrl: gh.url, commitAuthor: { name: 'Ada Lovelace', email: 'ada@example.com' }, logger });
    const baseSha = await authored.resolveBranch(repo, 'main', signal);
    const files: ChangedFile[] = [{ path: 'a.txt', change: 'added', mode: '100644', content: Buffer.from('a\n') }];
    const sha = await authored.createCommit(repo, { baseSha, files, message: 'authored' }, signal);
    const bare = gh.repoDir('acme', 'widgets');
    expect(await gitOk(['--git-dir', bare, 'log', '-1', '--format=%an <%ae>', sha])).toBe('Ada Lovelace <ada@example.com>');

    // Without one, the commit is left to GitHub to attribute (the fake's default identity here), not ours.
    const plain = await host.createCommit(repo, { baseSha, files, message: 'plain' }, signal);
    expect(await gitOk(['--git-dir', bare, 'log', '-1', '--format=%an', plain])).not.toBe('Ada Lovelace');
  });

  it('reuses the branch and the open pull request when a job runs again', async () => {
    const baseSha = await host.resolveBranch(repo, 'main', signal);
    const draft = { branch: 'agent/job-2', base: 'main', title: 'Answer', body: 'first try', draft: false };
    const edit = (content: string): ChangedFile[] => [{ path: 'src/index.ts', change: 'modified', mode: '100644', content: Buffer.from(content) }];

    const first = await host.createCommit(repo, { baseSha, files: edit('export const answer = 42;\n'), message: 'try 1' }, signal);
    await host.pushBranch(repo, draft.branch, first, signal);
    const opened = await host.openPullRequest(repo, draft, signal);
    expect(opened.reused).toBe(false);

    // The retry builds a fresh commit on the same base: not a fast-forward of the first, so the move must force.
    const second = await host.createCommit(repo, { baseSha, files: edit('export const answer = 43;\n'), message: 'try 2' }, signal);
    await host.pushBranch(repo, draft.branch, second, signal);
    const again = await host.openPullRequest(repo, { ...draft, body: 'second try' }, signal);

    expect(again).toEqual({ url: opened.url, number: opened.number, branch: draft.branch, reused: true });
    expect(gh.pulls('acme', 'widgets')).toHaveLength(1);
    expect(await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'rev-parse', `refs/heads/${draft.branch}`])).toBe(second);
    expect(gh.requests.some((r) => r.method === 'PATCH' && r.path === '/repos/acme/widgets/git/refs/heads/agent/job-2' && r.status === 200)).toBe(true);
    expect(await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'show', `${draft.branch}:src/index.ts`])).toBe('export const answer = 43;');

    // A closed PR is not reused: the next run opens a new one.
    gh.closePull('acme', 'widgets', opened.number);
    const reopened = await host.openPullRequest(repo, draft, signal);
    expect(reopened).toMatchObject({ number: 2, reused: false });
  });

  it('reuses a pull request that appeared between the lookup and the create', async () => {
    const baseSha = await host.resolveBranch(repo, 'main', signal);
    const sha = await host.createCommit(repo, { baseSha, files: [{ path: 'a.txt', change: 'added', mode: '100644', content: Buffer.from('a\n') }], message: 'a' }, signal);
    await host.pushBranch(repo, 'agent/race', sha, signal);
    const draft = { branch: 'agent/race', base: 'main', title: 'Race', body: '', draft: false };
    await host.openPullRequest(repo, draft, signal);
    // Hide the existing PR from the first lookup only, as if it were created concurrently.
    gh.failNext('GET', '/repos/acme/widgets/pulls', 200, 1, { body: [] });
    const raced = await host.openPullRequest(repo, draft, signal);
    expect(raced).toMatchObject({ number: 1, reused: true });
    expect(gh.pulls('acme', 'widgets')).toHaveLength(1);
  });

  it('clones a private repository only with the token', async () => {
    const secret = { owner: 'acme', name: 'secret' };
    const checkout = await host.downloadCheckout(secret, 'trunk', signal);
    const workdir = path.join(tmp, 'secret');
    await mkdir(workdir);
    await extractTar(checkout.archive, workdir);
    expect(await readFile(path.join(workdir, 'NOTES.md'), 'utf8')).toBe('private\n');
    expect(await readFile(path.join(workdir, '.git', 'config'), 'utf8')).not.toContain(TOKEN);

    const anonymous = await git(['clone', '--quiet', `${gh.url}/acme/secret.git`, path.join(tmp, 'anon')]);
    expect(anonymous.code).not.toBe(0);

    const wrongToken = 'ghp_WrongTokenWrongToken0123456789abcd';
    const intruder = makeHost(wrongToken);
    const err: unknown = await intruder.downloadCheckout(secret, 'trunk', signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'repo_access_denied', retryable: false });
    expect(String(err)).not.toContain(wrongToken);
    await expect(intruder.getRepo(secret, signal)).rejects.toMatchObject({ code: 'repo_access_denied', retryable: false });
    for (const line of logLines) expect(line).not.toContain(wrongToken);
  });

  it('maps a missing repository or branch on clone, and leaves no temporary directory behind', async () => {
    const left = await leftInPrivateTmpdir(async () => {
      await expect(host.downloadCheckout({ owner: 'acme', name: 'ghost' }, 'main', signal)).rejects.toMatchObject({ code: 'repo_not_found' });
      await expect(host.downloadCheckout(repo, 'no-such-branch', signal)).rejects.toMatchObject({ code: 'branch_not_found' });
      await host.downloadCheckout(repo, 'main', signal);
    });
    expect(left).toEqual([]);
  });

  it('reports a broken git server as a retryable clone failure', async () => {
    gh.failNext('GET', '/acme/widgets.git/info/refs', 500);
    await expect(host.downloadCheckout(repo, 'main', signal)).rejects.toMatchObject({ code: 'clone_failed', retryable: true });
  });

  it('maps a 404 repository to repo_not_found without retrying', async () => {
    const ghost = { owner: 'acme', name: 'ghost' };
    await expect(host.getRepo(ghost, signal)).rejects.toMatchObject({ code: 'repo_not_found', retryable: false });
    expect(gh.requests.filter((r) => r.path === '/repos/acme/ghost')).toHaveLength(1);
  });

  it('retries an injected 502 once and succeeds', async () => {
    gh.failNext('POST', '/repos/acme/widgets/git/blobs', 502);
    const baseSha = await host.resolveBranch(repo, 'main', signal);
    const sha = await host.createCommit(repo, { baseSha, files: [{ path: 'b.txt', change: 'added', mode: '100644', content: Buffer.from('b\n') }], message: 'b' }, signal);
    expect(await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'show', `${sha}:b.txt`])).toBe('b');
    expect(gh.requests.filter((r) => r.method === 'POST' && r.path === '/repos/acme/widgets/git/blobs').map((r) => r.status)).toEqual([502, 201]);
  });

  it('gives up after the configured retries with a retryable error', async () => {
    gh.failNext('GET', '/repos/acme/widgets', 503, 10);
    await expect(host.getRepo(repo, signal)).rejects.toMatchObject({ code: 'git_host_failed', retryable: true });
    expect(gh.requests.filter((r) => r.path === '/repos/acme/widgets').map((r) => r.status)).toEqual([503, 503, 503]);
  });

  it('does not retry a 422 and reports it as a permanent failure', async () => {
    const baseSha = await host.resolveBranch(repo, 'main', signal);
    const err: unknown = await host
      .createCommit(repo, { baseSha: 'f'.repeat(40), files: [], message: 'x' }, signal)
      .catch((e: unknown) => e);
    // An unknown base commit is a 404 on getCommit.
    expect(err).toMatchObject({ code: 'repo_not_found' });
    await expect(host.pushBranch(repo, 'bad..name', baseSha, signal)).rejects.toMatchObject({ code: 'git_host_failed', retryable: false });
    expect(gh.requests.filter((r) => r.method === 'POST' && r.path === '/repos/acme/widgets/git/refs')).toHaveLength(1);
  });

  it('stops at once when the job is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(host.getRepo(repo, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    await expect(host.downloadCheckout(repo, 'main', controller.signal)).rejects.toBeInstanceOf(CancelledError);
    await expect(host.resolveBranch(repo, 'main', controller.signal)).rejects.toBeInstanceOf(CancelledError);
  });

  it('waits out a secondary rate limit with throttling on (the production setting)', async () => {
    const logger = recordingLogger(logLines);
    const octokit = createGitHubOctokit({ token: TOKEN, apiUrl: gh.apiUrl, retry: { retries: 0 }, throttle: { retryAfterBaseValueMs: 10 }, logger });
    const throttled = new GitHubHost({ octokit, gitUrl: gh.url, token: TOKEN, logger });
    gh.failNext('GET', '/repos/acme/widgets', 403, 1, {
      headers: { 'retry-after': '1' },
      body: { message: 'You have exceeded a secondary rate limit.', documentation_url: 'https://docs.github.com/rest' },
    });
    await expect(throttled.getRepo(repo, signal)).resolves.toEqual({ defaultBranch: 'main', private: false });
    expect(gh.requests.filter((r) => r.path === '/repos/acme/widgets').map((r) => r.status)).toEqual([403, 200]);
    expect(logLines.some((l) => l.includes('github rate limit hit') && l.includes('"kind":"secondary"'))).toBe(true);
  });

  it('gives up on a rate limit after the configured number of waits', async () => {
    const logger = recordingLogger(logLines);
    const octokit = createGitHubOctokit({ token: TOKEN, apiUrl: gh.apiUrl, retry: { retries: 0 }, throttle: { maxRateLimitRetries: 1, retryAfterBaseValueMs: 10 }, logger });
    const throttled = new GitHubHost({ octokit, gitUrl: gh.url, token: TOKEN, logger });
    gh.failNext('GET', '/repos/acme/widgets', 403, 5, { headers: { 'retry-after': '1' }, body: { message: 'You have exceeded a secondary rate limit.' } });
    await expect(throttled.getRepo(repo, signal)).rejects.toMatchObject({ code: 'git_host_failed', retryable: true });
    expect(gh.requests.filter((r) => r.path === '/repos/acme/widgets')).toHaveLength(2);
  });

  it('works with throttling on (the production setting) for a read', async () => {
    const logger = recordingLogger(logLines);
    const octokit = createGitHubOctokit({ token: TOKEN, apiUrl: gh.apiUrl, logger });
    const throttled = new GitHubHost({ octokit, gitUrl: gh.url, token: TOKEN, logger });
    await expect(throttled.getRepo(repo, signal)).resolves.toEqual({ defaultBranch: 'main', private: false });
  });
});
