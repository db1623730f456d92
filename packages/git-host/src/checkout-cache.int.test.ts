import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CheckoutLease } from '@tinyb/core';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { CheckoutCache } from './checkout-cache.js';
import { createGitHubOctokit } from './create-github-octokit.js';
import { GitHubHost } from './github-host.js';
import { extractTar, gitOk } from './test-git.js';

const TOKEN = 'ghp_TinybCheckoutCacheToken0123456789ab';
const repo = { owner: 'acme', name: 'cached' };
const other = { owner: 'acme', name: 'other' };

/** Real git over the fake GitHub's smart HTTP; the cache on a real directory. */
describe('checkout cache (GitHubHost.openCheckout)', () => {
  let gh: FakeGitHub;
  let tmp: string;
  let cacheDir: string;
  const signal = new AbortController().signal;

  const makeHost = (cache?: CheckoutCache) => {
    const logger = recordingLogger([]);
    const octokit = createGitHubOctokit({ token: TOKEN, apiUrl: gh.apiUrl, retry: { retries: 0 }, throttle: { enabled: false }, logger });
    return new GitHubHost({ octokit, gitUrl: gh.url, token: TOKEN, logger, ...(cache ? { checkoutCache: cache } : {}) } as ConstructorParameters<typeof GitHubHost>[0]);
  };
  const clones = () => gh.requests.filter((r) => r.kind === 'git' && r.path.endsWith('/git-upload-pack')).length;
  const bytesOf = async (lease: CheckoutLease) => {
    const parts: Uint8Array[] = [];
    for await (const chunk of lease.chunks()) parts.push(chunk);
    return Buffer.concat(parts);
  };
  const archives = async () => (await readdir(cacheDir)).filter((n) => n.endsWith('.tar'));

  beforeEach(async () => {
    gh = await startFakeGitHub({ token: TOKEN });
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyb-checkout-cache-test-'));
    cacheDir = path.join(tmp, 'cache');
    await gh.createRepo('acme', 'cached', { files: { 'README.md': '# Cached\n', 'src/a.txt': 'a'.repeat(10_000) } });
    await gh.createRepo('acme', 'other', { files: { 'README.md': '# Other\n' } });
  });
  afterEach(async () => {
    await gh.close();
    await rm(tmp, { recursive: true, force: true });
  });

  it('downloads a commit once, lends the same archive to later and concurrent jobs, and each extracts its own copy', async () => {
    const host = makeHost(new CheckoutCache({ dir: cacheDir, maxBytes: 100 * 1024 * 1024 }));
    const first = await host.openCheckout(repo, 'main', signal);
    expect(first.cached).toBe(false);
    expect(first.sha).toBe(await gitOk(['--git-dir', gh.repoDir('acme', 'cached'), 'rev-parse', 'refs/heads/main']));
    const clonesAfterFirst = clones();
    expect(clonesAfterFirst).toBeGreaterThan(0);

    const again = await Promise.all([1, 2, 3].map(() => host.openCheckout(repo, 'main', signal)));
    expect(again.every((l) => l.cached && l.sha === first.sha)).toBe(true);
    expect(clones()).toBe(clonesAfterFirst);
    const archive = await bytesOf(first);
    expect(archive.byteLength).toBe(first.bytes);
    // The archive carries no credential, like downloadCheckout's.
    expect(archive.toString('latin1')).not.toContain(TOKEN);

    // Two jobs extract into their own directories: a change in one is not seen by the other or the cache.
    const [a, b] = [path.join(tmp, 'job-a'), path.join(tmp, 'job-b')];
    for (const [dir, lease] of [[a, again[0]!], [b, again[1]!]] as const) {
      await mkdir(dir);
      await extractTar(await bytesOf(lease), dir);
    }
    await gitOk(['-C', a, 'rm', '-q', 'README.md']);
    expect(await readFile(path.join(b, 'README.md'), 'utf8')).toBe('# Cached\n');
    expect((await bytesOf(again[2]!)).equals(archive)).toBe(true);
    for (const lease of [first, ...again]) lease.release();
  });

  it('downloads again when the branch moves, and serves concurrent first requests with one download', async () => {
    const host = makeHost(new CheckoutCache({ dir: cacheDir, maxBytes: 100 * 1024 * 1024 }));
    const racing = await Promise.all([1, 2, 3].map(() => host.openCheckout(repo, 'main', signal)));
    expect(new Set(racing.map((l) => l.sha)).size).toBe(1);
    expect(racing.filter((l) => !l.cached)).toHaveLength(1);
    const perClone = clones();
    racing.forEach((l) => l.release());

    // A new commit on main (pushed straight into the bare repository).
    const work = path.join(tmp, 'push');
    await gitOk(['clone', '-q', gh.repoDir('acme', 'cached'), work]);
    await gitOk(['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'move']);
    await gitOk(['-C', work, 'push', '-q', 'origin', 'HEAD:main']);
    const moved = await host.openCheckout(repo, 'main', signal);
    expect(moved.cached).toBe(false);
    expect(moved.sha).not.toBe(racing[0]!.sha);
    expect(clones()).toBe(2 * perClone);
    moved.release();
  });

  it('stays within its bound, least recently used first, and never deletes an archive under its reader', async () => {
    const sizing = makeHost(new CheckoutCache({ dir: path.join(tmp, 'sizing'), maxBytes: 1 << 30 }));
    const sizes = await Promise.all([repo, other].map(async (r) => {
      const l = await sizing.openCheckout(r, 'main', signal);
      l.release();
      return l.bytes;
    }));
    // Room for the larger archive alone: the two cannot both stay.
    const cache = new CheckoutCache({ dir: cacheDir, maxBytes: Math.max(...sizes) });
    const host = makeHost(cache);
    const held = await host.openCheckout(repo, 'main', signal);
    const second = await host.openCheckout(other, 'main', signal);
    // `repo` was least recently used, but it is leased: it is doomed, not deleted, and still reads whole.
    expect(cache.sizeBytes).toBeLessThanOrEqual(Math.max(...sizes));
    expect((await bytesOf(held)).byteLength).toBe(held.bytes);
    held.release();
    second.release();
    await new Promise((r) => setTimeout(r, 50));
    expect(await archives()).toHaveLength(1);
    const back = await host.openCheckout(repo, 'main', signal);
    expect(back.cached).toBe(false);
    back.release();
  });

  it('without a cache, streams each checkout from a file of its own that is gone once released', async () => {
    const host = makeHost();
    const lease = await host.openCheckout(repo, 'main', signal);
    const dir = path.join(tmp, 'x');
    await mkdir(dir);
    await extractTar(await bytesOf(lease), dir);
    expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toBe('# Cached\n');
    lease.release();
    const again = await host.openCheckout(repo, 'main', signal);
    expect(again.cached).toBe(false);
    again.release();
  });

  it("does not fail a job because the job whose download it joined was cancelled", async () => {
    const host = makeHost(new CheckoutCache({ dir: cacheDir, maxBytes: 1 << 30 }));
    const cancelled = new AbortController();
    const first = host.openCheckout(repo, 'main', cancelled.signal);
    const second = host.openCheckout(repo, 'main', signal);
    // The first job is cancelled while its clone (which the second joined) runs.
    await new Promise((r) => setTimeout(r, 30));
    cancelled.abort(new Error('job cancelled'));
    await expect(first).rejects.toBeDefined();
    const lease = await second;
    expect(lease.sha).toBe(await gitOk(['--git-dir', gh.repoDir('acme', 'cached'), 'rev-parse', 'refs/heads/main']));
    expect((await bytesOf(lease)).byteLength).toBe(lease.bytes);
    lease.release();
  });

  it('refuses what the credentials cannot read, with the same codes as downloadCheckout', async () => {
    const host = makeHost(new CheckoutCache({ dir: cacheDir, maxBytes: 1 << 30 }));
    await expect(host.openCheckout({ owner: 'acme', name: 'ghost' }, 'main', signal)).rejects.toMatchObject({ code: 'repo_not_found' });
    await expect(host.openCheckout(repo, 'no-such-branch', signal)).rejects.toMatchObject({ code: 'branch_not_found' });
    expect(await archives()).toEqual([]);
  });
});
