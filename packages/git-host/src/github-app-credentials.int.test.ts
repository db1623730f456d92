import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, CancelledError, type Logger } from '@tinyb/core';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { createGitHubOctokit } from './create-github-octokit.js';
import { GitHubAppCredentials, INSTALLATION_TOKEN_PERMISSIONS } from './github-app-credentials.js';
import { GitHubHost } from './github-host.js';
import { loadGitHubAppPrivateKey } from './load-github-app-private-key.js';
import { PersonalTokenCredentials } from './personal-token-credentials.js';
import { basicAuthHeader, extractTar, git, gitOk, leftInPrivateTmpdir } from './test-git.js';

const PAT = 'ghp_TinybAppTestPersonalToken0123456789';
const APP_ID = 4242;
const SLUG = 'tiny-backspace';
const widgets = { owner: 'acme', name: 'widgets' };
const gadgets = { owner: 'acme', name: 'gadgets' };
const fast = { retry: { retries: 2, retryAfterBaseValueMs: 5 }, throttle: { enabled: false } };

function rsaKeyPair(): { privateKey: string; publicKey: string } {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    // PKCS#1, as GitHub hands it out.
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
}

/** An app JWT made by hand, for the fake's verification: RS256 over `{iat, exp, iss}`. */
function appJwt(privateKey: string, claims: { iat: number; exp: number; iss: number | string }): string {
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${unsigned}.${sign('RSA-SHA256', Buffer.from(unsigned), privateKey).toString('base64url')}`;
}

describe('GitHubHost with GitHub App credentials, against the fake GitHub', () => {
  const appKey = rsaKeyPair();
  const strangerKey = rsaKeyPair();
  const signal = new AbortController().signal;
  let privateKey: string;
  let gh: FakeGitHub;
  let tmp: string;
  let logLines: string[];
  let logger: Logger;

  const appCredentials = (overrides: { appId?: number; privateKey?: string; refreshBeforeExpiryMs?: number; onToken?: (token: string) => void } = {}): GitHubAppCredentials =>
    new GitHubAppCredentials({ appId: APP_ID, privateKey, apiUrl: gh.apiUrl, ...fast, logger, ...overrides });
  const appHost = (credentials = appCredentials()): GitHubHost => new GitHubHost({ credentials, gitUrl: gh.url, logger });

  beforeAll(async () => {
    // What the worker does with GITHUB_APP_PRIVATE_KEY taken from an env file.
    privateKey = await loadGitHubAppPrivateKey(appKey.privateKey.trim().split('\n').join('\\n'));
  });

  beforeEach(async () => {
    gh = await startFakeGitHub({ token: PAT, app: { id: APP_ID, slug: SLUG, publicKeyPem: appKey.publicKey } });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyb-github-app-test-'));
    logLines = [];
    logger = recordingLogger(logLines);
    await gh.createRepo('acme', 'widgets', { files: { 'README.md': '# Widgets\n', 'src/index.ts': 'export const answer = 41;\n' } });
    await gh.createRepo('acme', 'gadgets', { files: { 'NOTES.md': 'private\n' }, private: true });
    await gh.createRepo('acme', 'elsewhere', { files: { 'README.md': 'no app here\n' } });
    gh.installApp('acme', 'widgets');
    gh.installApp('acme', 'gadgets');
  });

  afterEach(async () => {
    const minted = gh.installationTokens().map((t) => t.token);
    await gh.close();
    await rm(tmp, { recursive: true, force: true });
    // Nothing secret reached a log line: no installation token, no JWT, no key, no personal token.
    const keyLine = appKey.privateKey.split('\n')[3] ?? '';
    for (const line of logLines) {
      for (const token of minted) {
        expect(line).not.toContain(token);
        expect(line).not.toContain(Buffer.from(`x-access-token:${token}`).toString('base64'));
      }
      expect(line).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
      expect(line).not.toContain(keyLine);
      expect(line).not.toContain(PAT);
    }
  });

  it('clones, commits, pushes and opens a PR with a token minted for that one repository, committing as the app bot', async () => {
    const host = appHost();
    await expect(host.getRepo(widgets, signal)).resolves.toEqual({ defaultBranch: 'main', private: false });
    const baseSha = await host.resolveBranch(widgets, 'main', signal);
    const checkout = await host.downloadCheckout(widgets, 'main', signal);
    expect(checkout.sha).toBe(baseSha);

    const [minted, ...more] = gh.installationTokens();
    expect(more).toEqual([]);
    if (minted === undefined) throw new Error('no installation token was minted');
    expect(minted.token).toMatch(/^ghs_/);
    const archive = Buffer.from(checkout.archive).toString('latin1');
    expect(archive).not.toContain(minted.token);
    expect(archive).not.toContain(Buffer.from(`x-access-token:${minted.token}`).toString('base64'));
    const workdir = path.join(tmp, 'work');
    await mkdir(workdir);
    await extractTar(checkout.archive, workdir);
    expect(await readFile(path.join(workdir, '.git', 'config'), 'utf8')).not.toMatch(/extraheader|authorization|ghs_/i);

    await writeFile(path.join(workdir, 'src', 'index.ts'), 'export const answer = 42;\n');
    const sha = await host.createCommit(
      widgets,
      { baseSha, files: [{ path: 'src/index.ts', change: 'modified', mode: '100644', content: await readFile(path.join(workdir, 'src', 'index.ts')) }], message: 'Fix the answer' },
      signal,
    );
    await host.pushBranch(widgets, 'agent/job-app', sha, signal);
    // The pipeline puts the requester into the body; the app path carries it through untouched.
    const body = 'Fixes the answer.\n\nRequested by @alice via Tiny Backspace.';
    const pr = await host.openPullRequest(widgets, { branch: 'agent/job-app', base: 'main', title: 'Fix the answer', body, draft: false }, signal);
    expect(pr).toEqual({ url: `${gh.url}/acme/widgets/pull/1`, number: 1, branch: 'agent/job-app', reused: false });
    expect(gh.pulls('acme', 'widgets')).toEqual([expect.objectContaining({ number: 1, body, head: { ref: 'agent/job-app', sha } })]);

    // The commit is the app's: authored by its bot (GitHub commits API-made commits as itself).
    const bare = gh.repoDir('acme', 'widgets');
    expect(await gitOk(['--git-dir', bare, 'log', '-1', '--format=%an <%ae>|%cn', sha])).toBe(`${SLUG}[bot] <${100_000 + APP_ID}+${SLUG}[bot]@users.noreply.github.com>|GitHub`);
    expect(await gitOk(['--git-dir', bare, 'show', `${sha}:src/index.ts`])).toBe('export const answer = 42;');

    // Exactly one token, for exactly this repository and exactly these permissions, asked for with the JWT.
    const installationId = minted.installationId;
    expect(gh.accessTokenRequests).toEqual([{ installationId, repositories: ['widgets'], permissions: { contents: 'write', pull_requests: 'write' }, status: 201 }]);
    expect(INSTALLATION_TOKEN_PERMISSIONS).toEqual({ contents: 'write', pull_requests: 'write' });
    const appCalls = gh.requests.filter((r) => r.path === '/repos/acme/widgets/installation' || r.path.startsWith('/app/'));
    expect(appCalls.map((r) => `${r.method} ${r.path} ${r.credential} ${r.status}`)).toEqual([
      'GET /repos/acme/widgets/installation jwt 200',
      `POST /app/installations/${installationId}/access_tokens jwt 201`,
    ]);
    // Every other call, REST and the clone's git traffic alike, used the installation token: never the JWT or a PAT.
    const repoCalls = gh.requests.filter((r) => !appCalls.includes(r));
    expect(repoCalls.filter((r) => r.kind === 'git').length).toBeGreaterThan(0);
    expect(repoCalls.filter((r) => r.kind === 'api').length).toBeGreaterThanOrEqual(8);
    expect(repoCalls.filter((r) => r.credential !== 'installation').map((r) => `${r.method} ${r.path} ${r.credential}`)).toEqual([]);
    expect(logLines.some((l) => l.includes('github app installation token minted') && l.includes('"repo":"widgets"'))).toBe(true);
  });

  it('mints one token per repository; a token for one repository is refused for another', async () => {
    const host = appHost();
    await host.getRepo(widgets, signal);
    await expect(host.getRepo(gadgets, signal)).resolves.toEqual({ defaultBranch: 'main', private: true });
    expect(gh.accessTokenRequests.map((r) => r.repositories)).toEqual([['widgets'], ['gadgets']]);
    const [forWidgets] = gh.installationTokens();
    if (forWidgets === undefined) throw new Error('no token');

    // REST: the widgets token reads widgets, and gets 403 on gadgets.
    const octokit = createGitHubOctokit({ token: forWidgets.token, apiUrl: gh.apiUrl, ...fast, logger });
    await expect(octokit.rest.repos.get({ owner: 'acme', repo: 'widgets' })).resolves.toMatchObject({ status: 200 });
    await expect(octokit.rest.repos.get({ owner: 'acme', repo: 'gadgets' })).rejects.toMatchObject({ status: 403 });
    await expect(octokit.rest.git.createBlob({ owner: 'acme', repo: 'gadgets', content: 'x' })).rejects.toMatchObject({ status: 403 });
    // Through GitHubHost, that is a clear, final denial.
    const misused = new GitHubHost({ credentials: new PersonalTokenCredentials({ token: forWidgets.token, octokit }), gitUrl: gh.url, logger });
    const err: unknown = await misused.getRepo(gadgets, signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'repo_access_denied', retryable: false });
    expect(String(err)).not.toContain(forWidgets.token);
    await expect(misused.downloadCheckout(gadgets, 'main', signal)).rejects.toMatchObject({ code: 'repo_access_denied' });

    // git smart HTTP: same rule.
    await gitOk(['clone', '--quiet', `${gh.url}/acme/widgets.git`, path.join(tmp, 'w')], { extraHeader: basicAuthHeader(forWidgets.token) });
    const refused = await git(['clone', '--quiet', `${gh.url}/acme/gadgets.git`, path.join(tmp, 'g')], { extraHeader: basicAuthHeader(forWidgets.token) });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/403/);
  });

  it('reuses a repository token within its lifetime and mints afresh when it is near expiry', async () => {
    const credentials = appCredentials();
    const first = await credentials.forRepo(widgets, signal);
    expect(await credentials.forRepo({ owner: 'ACME', name: 'Widgets' }, signal)).toBe(first);
    expect(gh.accessTokenRequests).toHaveLength(1);

    // The fake's tokens live an hour; asking for an hour and a second of margin makes every one stale at once.
    const eager = appCredentials({ refreshBeforeExpiryMs: 3_601_000 });
    const a = await eager.forRepo(widgets, signal);
    const b = await eager.forRepo(widgets, signal);
    expect(b.token).not.toBe(a.token);
    expect(gh.accessTokenRequests).toHaveLength(3);
  });

  it('mints a separate token for each job (each job attempt has its own signal)', async () => {
    const credentials = appCredentials();
    const jobA = new AbortController().signal;
    const jobB = new AbortController().signal;
    const a = await credentials.forRepo(widgets, jobA);
    const b = await credentials.forRepo(widgets, jobB);
    expect(b.token).not.toBe(a.token);
    expect(await credentials.forRepo(widgets, jobA)).toBe(a);
    expect(gh.accessTokenRequests).toHaveLength(2);
  });

  it('hands every minted token to onToken before it is used, so the worker can register it with its redactor', async () => {
    const seen: string[] = [];
    const credentials = appCredentials({ onToken: (token) => seen.push(token) });
    const a = await credentials.forRepo(widgets, new AbortController().signal);
    const b = await credentials.forRepo(gadgets, new AbortController().signal);
    await credentials.forRepo(widgets, signal);
    expect(seen).toEqual(gh.installationTokens().map((t) => t.token));
    expect(seen).toHaveLength(3);
    expect(seen.slice(0, 2)).toEqual([a.token, b.token]);
  });

  it('replaces a token GitHub no longer accepts (expired or revoked) and tries once more', async () => {
    const host = appHost();
    await host.getRepo(widgets, signal);
    gh.expireInstallationTokens();
    await expect(host.getRepo(widgets, signal)).resolves.toMatchObject({ defaultBranch: 'main' });
    expect(gh.requests.filter((r) => r.path === '/repos/acme/widgets').map((r) => r.status)).toEqual([200, 401, 200]);

    gh.expireInstallationTokens();
    const checkout = await host.downloadCheckout(widgets, 'main', signal);
    expect(checkout.sha).toMatch(/^[0-9a-f]{40}$/);
    expect(gh.accessTokenRequests).toHaveLength(3);
    expect(logLines.filter((l) => l.includes('github refused the credentials, trying fresh ones'))).toHaveLength(2);
  });

  it('fails with repo_access_denied, naming the app, on a repository without the installation', async () => {
    const host = appHost();
    const elsewhere = { owner: 'acme', name: 'elsewhere' };
    const err: unknown = await host.getRepo(elsewhere, signal).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'repo_access_denied', retryable: false });
    expect((err as AppError).message).toMatch(/GitHub App 4242 is not installed on acme\/elsewhere/);
    await expect(host.downloadCheckout(elsewhere, 'main', signal)).rejects.toMatchObject({ code: 'repo_access_denied' });
    expect(gh.accessTokenRequests).toEqual([]);
    // An installation on all of the account's repositories covers it.
    gh.installApp('acme');
    await expect(host.getRepo(elsewhere, signal)).resolves.toMatchObject({ defaultBranch: 'main' });
  });

  it('fails with repo_access_denied, pointing at the settings, when the private key or the app id is wrong', async () => {
    const wrongKey = appHost(appCredentials({ privateKey: await loadGitHubAppPrivateKey(strangerKey.privateKey) }));
    const err: unknown = await wrongKey.getRepo(widgets, signal).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'repo_access_denied', retryable: false });
    expect((err as AppError).message).toMatch(/GitHub refused the JWT of GitHub App 4242 .*HTTP 401.*check GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY/);
    expect((err as AppError).message).not.toMatch(/eyJ|BEGIN/);
    // Not retried: a 401 is final.
    expect(gh.requests.filter((r) => r.path === '/repos/acme/widgets/installation').map((r) => `${r.credential} ${r.status}`)).toEqual(['invalid 401']);

    const wrongId = appHost(appCredentials({ appId: 999 }));
    await expect(wrongId.getRepo(widgets, signal)).rejects.toMatchObject({ code: 'repo_access_denied', message: expect.stringMatching(/GitHub App 999/) });
    expect(gh.accessTokenRequests).toEqual([]);
    expect(gh.installationTokens()).toEqual([]);
  });

  it('refuses a key that is no RSA private key at construction, without echoing it', () => {
    const build = (key: string) => () => new GitHubAppCredentials({ appId: APP_ID, privateKey: key, apiUrl: gh.apiUrl, ...fast, logger });
    expect(build('garbage-but-secret')).toThrow(/GITHUB_APP_PRIVATE_KEY\) is not a readable PEM private key/);
    expect(build('garbage-but-secret')).not.toThrow(/garbage/);
    expect(() => new GitHubAppCredentials({ appId: 'app-42', privateKey, apiUrl: gh.apiUrl, logger })).toThrow(/GITHUB_APP_ID\) must be a number/);
  });

  it('fails with repo_access_denied when the installation lacks a permission the token asks for', async () => {
    const limited = await startFakeGitHub({ token: PAT, app: { id: APP_ID, slug: SLUG, publicKeyPem: appKey.publicKey, permissions: { contents: 'read', pull_requests: 'write' } } });
    try {
      await limited.createRepo('acme', 'widgets', { files: { 'README.md': 'x\n' } });
      limited.installApp('acme');
      const credentials = new GitHubAppCredentials({ appId: APP_ID, privateKey, apiUrl: limited.apiUrl, ...fast, logger });
      const host = new GitHubHost({ credentials, gitUrl: limited.url, logger });
      await expect(host.getRepo(widgets, signal)).rejects.toMatchObject({
        code: 'repo_access_denied',
        message: expect.stringMatching(/could not get a token for acme\/widgets with contents:write and pull_requests:write \(HTTP 422/),
      });
      expect(limited.accessTokenRequests.map((r) => r.status)).toEqual([422]);
    } finally {
      await limited.close();
    }
  });

  it('leaves no checkout directory behind, cloned or denied', async () => {
    const host = appHost();
    const left = await leftInPrivateTmpdir(async () => {
      await host.downloadCheckout(widgets, 'main', signal);
      await expect(host.downloadCheckout({ owner: 'acme', name: 'elsewhere' }, 'main', signal)).rejects.toMatchObject({ code: 'repo_access_denied' });
      gh.expireInstallationTokens();
      await host.downloadCheckout(widgets, 'main', signal);
    });
    expect(left).toEqual([]);
  });

  it('stops at once when the job is cancelled', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(appCredentials().forRepo(widgets, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    await expect(appHost().getRepo(widgets, controller.signal)).rejects.toBeInstanceOf(CancelledError);
    expect(gh.requests).toEqual([]);
  });

  it('keeps the personal token mode working through the same seam', async () => {
    const host = new GitHubHost({ credentials: new PersonalTokenCredentials({ token: PAT, apiUrl: gh.apiUrl, ...fast, logger }), gitUrl: gh.url, logger });
    const baseSha = await host.resolveBranch(widgets, 'main', signal);
    const sha = await host.createCommit(widgets, { baseSha, files: [{ path: 'a.txt', change: 'added', mode: '100644', content: Buffer.from('a\n') }], message: 'a' }, signal);
    expect(await gitOk(['--git-dir', gh.repoDir('acme', 'widgets'), 'log', '-1', '--format=%an', sha])).toBe('Fake GitHub');
    expect(gh.requests.every((r) => r.credential === 'token')).toBe(true);
    expect(gh.accessTokenRequests).toEqual([]);
  });
});

describe('the fake GitHub app JWT check', () => {
  const appKey = rsaKeyPair();
  const strangerKey = rsaKeyPair();
  let gh: FakeGitHub;

  beforeAll(async () => {
    gh = await startFakeGitHub({ token: PAT, app: { id: APP_ID, slug: SLUG, publicKeyPem: appKey.publicKey } });
    await gh.createRepo('acme', 'widgets', { files: { 'README.md': 'x\n' } });
    gh.installApp('acme', 'widgets');
  });
  afterAll(async () => {
    await gh.close();
  });

  const now = (): number => Math.floor(Date.now() / 1000);
  const lookup = (authorization: string | undefined): Promise<Response> =>
    fetch(`${gh.apiUrl}/repos/acme/widgets/installation`, { headers: authorization === undefined ? {} : { authorization } });

  it('accepts a JWT signed by the app key with sane claims, and nothing else', async () => {
    const good = appJwt(appKey.privateKey, { iat: now() - 30, exp: now() + 540, iss: APP_ID });
    const ok = await lookup(`Bearer ${good}`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ app_slug: SLUG, account: { login: 'acme' } });
    expect((await lookup(`Bearer ${appJwt(appKey.privateKey, { iat: now() - 30, exp: now() + 540, iss: String(APP_ID) })}`)).status).toBe(200);

    const refused: [string, string | undefined][] = [
      ['wrong key', `Bearer ${appJwt(strangerKey.privateKey, { iat: now() - 30, exp: now() + 540, iss: APP_ID })}`],
      ['expired', `Bearer ${appJwt(appKey.privateKey, { iat: now() - 700, exp: now() - 100, iss: APP_ID })}`],
      ['too long-lived', `Bearer ${appJwt(appKey.privateKey, { iat: now(), exp: now() + 3600, iss: APP_ID })}`],
      ['issued in the future', `Bearer ${appJwt(appKey.privateKey, { iat: now() + 300, exp: now() + 600, iss: APP_ID })}`],
      ['another app', `Bearer ${appJwt(appKey.privateKey, { iat: now() - 30, exp: now() + 540, iss: 7 })}`],
      ['tampered', `Bearer ${good.slice(0, -4)}AAAA`],
      ['personal token', `token ${PAT}`],
      ['none', undefined],
    ];
    for (const [why, header] of refused) {
      const res = await lookup(header);
      expect({ why, status: res.status }).toEqual({ why, status: 401 });
    }
    // The JWT is for app routes only; repository routes want an installation token.
    const repoCall = await fetch(`${gh.apiUrl}/repos/acme/widgets`, { headers: { authorization: `Bearer ${good}` } });
    expect(repoCall.status).toBe(403);
    expect(gh.requests.filter((r) => r.credential === 'jwt').map((r) => r.status)).toEqual([200, 200, 403]);
  });

  it('mints only for covered, existing repositories and granted permissions', async () => {
    const jwt = appJwt(appKey.privateKey, { iat: now() - 30, exp: now() + 540, iss: APP_ID });
    const installation = (await (await lookup(`Bearer ${jwt}`)).json()) as { id: number };
    const mint = (body: object): Promise<Response> =>
      fetch(`${gh.apiUrl}/app/installations/${installation.id}/access_tokens`, { method: 'POST', headers: { authorization: `Bearer ${jwt}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const ok = await mint({ repositories: ['widgets'], permissions: { contents: 'read' } });
    expect(ok.status).toBe(201);
    const data = (await ok.json()) as { token: string; expires_at: string; permissions: object; repositories: { name: string }[] };
    expect(data.token).toMatch(/^ghs_[0-9a-f]{36}$/);
    expect(Date.parse(data.expires_at) - Date.now()).toBeGreaterThan(3_500_000);
    expect(data.expires_at).toMatch(/:\d\dZ$/);
    expect(data.permissions).toEqual({ contents: 'read', metadata: 'read' });
    expect(data.repositories.map((r) => r.name)).toEqual(['widgets']);
    // A read-only token may clone but not write.
    const readOnly = createGitHubOctokit({ token: data.token, apiUrl: gh.apiUrl, ...fast, logger: recordingLogger([]) });
    await expect(readOnly.rest.git.createBlob({ owner: 'acme', repo: 'widgets', content: 'x' })).rejects.toMatchObject({ status: 403 });
    await expect(readOnly.rest.pulls.list({ owner: 'acme', repo: 'widgets' })).rejects.toMatchObject({ status: 403 });

    expect((await mint({ repositories: ['nope'] })).status).toBe(422);
    expect((await mint({ permissions: { administration: 'write' } })).status).toBe(422);
    expect((await fetch(`${gh.apiUrl}/app/installations/1/access_tokens`, { method: 'POST', headers: { authorization: `Bearer ${jwt}` } })).status).toBe(404);
  });
});
