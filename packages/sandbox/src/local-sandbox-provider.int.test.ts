import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '@tinyb/core';
import { sandboxProviderContract } from '@tinyb/testkit/sandbox-contract';
import { findBwrap } from './find-bwrap.js';
import type { LocalSandbox } from './local-sandbox.js';
import { LocalSandboxProvider } from './local-sandbox-provider.js';

const rootDir = path.join(os.tmpdir(), `tinyb-sandbox-test-${process.pid}`);
const never = new AbortController().signal;

afterAll(async () => {
  await fs.rm(rootDir, { recursive: true, force: true });
});

sandboxProviderContract('local (bwrap)', () => new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 }));
sandboxProviderContract('local (none)', () => new LocalSandboxProvider({ isolation: 'none', rootDir, killGraceMs: 500 }));

/** Host processes whose command line contains `marker`. */
async function hostProcessesWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(marker) && Number(entry) !== process.pid) pids.push(Number(entry));
  }
  return pids;
}

describe.each(['bwrap', 'none'] as const)('LocalSandboxProvider (%s)', (isolation) => {
  let provider: LocalSandboxProvider;
  let sandbox: LocalSandbox;

  beforeEach(async () => {
    provider = new LocalSandboxProvider({ isolation, rootDir, killGraceMs: 500 });
    sandbox = await provider.create({ jobId: 'job/with spaces', attempt: 2, toolPaths: [] }, never);
  });
  afterEach(() => sandbox.destroy());

  it('makes a private directory named after the job under the root', async () => {
    expect(path.dirname(sandbox.hostDir)).toBe(await fs.realpath(rootDir));
    expect(path.basename(sandbox.hostDir)).toMatch(/^job_with_spaces-2-\w{6}$/);
    expect((await fs.stat(sandbox.hostDir)).mode & 0o777).toBe(0o700);
    expect(sandbox.workspaceDir).toBe(isolation === 'bwrap' ? '/workspace' : sandbox.hostDir);
  });

  it('sweeps only sandbox directories older than the given age', async () => {
    const stale = await provider.create({ jobId: 'crashed', attempt: 1, toolPaths: [] }, never);
    await stale.exec(['sh', '-c', 'mkdir -p repo && chmod -w repo']);
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    await fs.utimes(stale.hostDir, hourAgo, hourAgo);
    expect(await provider.sweepStale(30 * 60 * 1000)).toBe(1);
    await expect(fs.stat(stale.hostDir)).rejects.toThrow();
    // The live sandbox of this test is recent, so it stays.
    expect((await fs.stat(sandbox.hostDir)).isDirectory()).toBe(true);
  });

  it('leaves no process behind after a timeout or a destroy', async () => {
    const marker = String(900_000 + Math.floor(Math.random() * 90_000));
    const timedOut = await sandbox.exec(['sh', '-c', `sleep ${marker} & sleep ${marker}`], { timeoutMs: 300 });
    expect(timedOut.timedOut).toBe(true);
    expect(await hostProcessesWith(`sleep\0${marker}`)).toEqual([]);

    const running = sandbox.exec(['sh', '-c', `sleep ${marker} & sleep ${marker}`]);
    running.catch(() => undefined);
    await sleep(300);
    expect((await hostProcessesWith(`sleep\0${marker}`)).length).toBeGreaterThan(0);
    await sandbox.destroy();
    await expect(running).rejects.toMatchObject({ code: 'sandbox_failed' });
    expect(await hostProcessesWith(`sleep\0${marker}`)).toEqual([]);
  });

  it('does not wait for background processes once the command exited', async () => {
    const startedMs = Date.now();
    const result = await sandbox.exec(['sh', '-c', 'sleep 30 & echo started']);
    expect(result.stdout).toBe('started\n');
    expect(Date.now() - startedMs).toBeLessThan(5000);
  });

  it('removes the directory on destroy, read-only leftovers included', async () => {
    const made = await sandbox.exec(['sh', '-c', 'mkdir -p ro/deep && echo x > ro/deep/f && chmod -R a-w ro && chmod 0 ro/deep']);
    expect(made.exitCode).toBe(0);
    await sandbox.destroy();
    expect(existsSync(sandbox.hostDir)).toBe(false);
  });

  it('follows a symlink that stays inside the workspace', async () => {
    await sandbox.writeFile(`${sandbox.workspaceDir}/real.txt`, 'real');
    expect((await sandbox.exec(['ln', '-s', 'real.txt', 'link.txt'])).exitCode).toBe(0);
    expect(Buffer.from(await sandbox.readFile(`${sandbox.workspaceDir}/link.txt`)).toString()).toBe('real');
  });

  it('does not block on a FIFO planted in the workspace', async () => {
    expect((await sandbox.exec(['mkfifo', 'pipe'])).exitCode).toBe(0);
    await expect(sandbox.readFile(`${sandbox.workspaceDir}/pipe`)).rejects.toMatchObject({ code: 'sandbox_failed' });
  });

  it('truncates huge output, keeping the head', async () => {
    const small = new LocalSandboxProvider({ isolation, rootDir, maxOutputBytes: 1000 });
    const boxed = await small.create({ jobId: 'big', attempt: 1, toolPaths: [] }, never);
    try {
      const result = await boxed.exec(['sh', '-c', 'echo start; head -c 100000 /dev/zero | tr "\\0" x']);
      expect(result.stdout.startsWith('start\nxxx')).toBe(true);
      expect(result.stdout).toContain('[output truncated: 99006 more bytes after the first 1000]');
    } finally {
      await boxed.destroy();
    }
  });

  it('passes the check', async () => {
    await expect(provider.check()).resolves.toBeUndefined();
  });
});

describe('LocalSandboxProvider (bwrap) isolation', () => {
  let provider: LocalSandboxProvider;
  let sandbox: LocalSandbox;
  let toolDir: string;
  let secretDir: string;

  beforeAll(async () => {
    // Under /tmp on purpose: the sandbox's /tmp is a tmpfs, so the tool dir must be bound after it.
    toolDir = await fs.mkdtemp(path.join(os.tmpdir(), 'tinyb-tool-'));
    await fs.writeFile(path.join(toolDir, 'tool.sh'), '#!/bin/sh\necho "tool ok $0"\n', { mode: 0o755 });
    secretDir = await fs.mkdtemp(path.join(os.homedir(), 'tinyb-secret-'));
    await fs.writeFile(path.join(secretDir, 'secret.txt'), 'secret');
  });
  afterAll(async () => {
    await fs.rm(toolDir, { recursive: true, force: true });
    await fs.rm(secretDir, { recursive: true, force: true });
  });

  beforeEach(async () => {
    provider = new LocalSandboxProvider({ isolation: 'bwrap', rootDir });
    sandbox = await provider.create({ jobId: 'iso', attempt: 1, toolPaths: [toolDir] }, never);
  });
  afterEach(() => sandbox.destroy());

  const sh = (script: string) => sandbox.exec(['sh', '-c', script]);

  it('runs as uid/gid 1000 with no capabilities, known to getpwuid', async () => {
    expect((await sh('id -u; id -g; id -un; grep CapEff /proc/self/status')).stdout).toBe(
      '1000\n1000\nsandbox\nCapEff:\t0000000000000000\n',
    );
  });

  it('has a read-only system', async () => {
    for (const target of ['/usr/tinyb-x', '/etc/tinyb-x', '/bin/tinyb-x', '/tinyb-x', '/proc/tinyb-x']) {
      const result = await sh(`touch ${target}`);
      expect(result.exitCode).not.toBe(0);
    }
    expect((await sh('touch /usr/tinyb-x')).stderr).toContain('Read-only file system');
    expect(existsSync('/usr/tinyb-x')).toBe(false);
  });

  it('sees nothing of the host outside the system and its workspace', async () => {
    const secret = path.join(secretDir, 'secret.txt');
    expect((await sh(`test -e ${secret}`)).exitCode).toBe(1);
    expect((await sh(`test -e ${os.homedir()}`)).exitCode).toBe(1);
    expect((await sh('test -e /etc/shadow')).exitCode).toBe(1);
    expect((await sh(`test -e ${process.cwd()}`)).exitCode).toBe(1);
    expect((await sh(`test -e ${sandbox.hostDir}`)).exitCode).toBe(1);
    expect((await sh('ls -A /tmp')).stdout).toBe(path.relative('/tmp', toolDir).split('/')[0] + '\n');
    // Files written by the worker (root on the host) belong to the sandbox user inside.
    await sandbox.writeFile('/workspace/by-worker.txt', 'x');
    expect((await sh('stat -c %u by-worker.txt && echo y >> by-worker.txt')).stdout).toBe('1000\n');
  });

  it('has its own PID namespace', async () => {
    const result = await sh('ls /proc | grep -c "^[0-9]"');
    expect(Number(result.stdout.trim())).toBeLessThan(8);
  });

  it('shows tool paths read-only at the same path', async () => {
    const result = await sandbox.exec([path.join(toolDir, 'tool.sh')]);
    expect(result.stdout).toBe(`tool ok ${path.join(toolDir, 'tool.sh')}\n`);
    const write = await sh(`touch ${toolDir}/x`);
    expect(write.stderr).toContain('Read-only file system');
  });

  it('does not write through a planted directory symlink on the host', async () => {
    expect((await sh('ln -s /etc etc-link')).exitCode).toBe(0);
    await expect(sandbox.writeFile('/workspace/etc-link/tinyb-planted', 'x')).rejects.toBeInstanceOf(AppError);
    expect(existsSync('/etc/tinyb-planted')).toBe(false);
  });

  it('refuses tool paths that would expose other jobs or the whole host', async () => {
    for (const toolPath of ['/', 'relative/bin', path.dirname(rootDir), path.join(rootDir, 'x'), '/no/such/tinyb-tool']) {
      await expect(provider.create({ jobId: 'bad', attempt: 1, toolPaths: [toolPath] }, never)).rejects.toMatchObject({
        code: 'sandbox_failed',
      });
    }
  });
});

describe('LocalSandboxProvider availability', () => {
  it('fails fast with a clear error when bwrap is missing', () => {
    const construct = (): unknown => new LocalSandboxProvider({ isolation: 'bwrap', searchPath: '/nonexistent', rootDir });
    expect(construct).toThrow(AppError);
    expect(construct).toThrow(/bubblewrap \(bwrap\) is not installed; .*SANDBOX_ALLOW_UNISOLATED=true/);
    expect(() => new LocalSandboxProvider({ bwrapPath: '/nonexistent/bwrap', rootDir })).toThrow(
      expect.objectContaining({ code: 'sandbox_unavailable' }),
    );
    expect(() => new LocalSandboxProvider({ isolation: 'none', searchPath: '/nonexistent', rootDir })).not.toThrow();
  });

  it('finds bwrap on a search path', () => {
    expect(findBwrap('/nonexistent:relative/dir')).toBeUndefined();
    expect(findBwrap('/nonexistent:/usr/bin')).toBe('/usr/bin/bwrap');
  });

  it('check() reports a bwrap that cannot sandbox as sandbox_unavailable', async () => {
    await expect(LocalSandboxProvider.create({ bwrapPath: '/bin/false', rootDir })).rejects.toMatchObject({
      code: 'sandbox_unavailable',
    });
    await expect(LocalSandboxProvider.create({ rootDir })).resolves.toBeInstanceOf(LocalSandboxProvider);
  });
});
