import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, CancelledError, type OutputChunk, type Sandbox, type SandboxProvider } from '@tinyb/core';

export interface SandboxContractOptions {
  /** Slack for slow machines on the timing assertions. Default 1. */
  timeScale?: number;
}

/**
 * What every SandboxProvider must do, as jest tests. Commands used: sh, printf, env, pwd, sleep, cat, wc, ln, mkdir.
 *
 * Decisions the suite pins down (and providers document):
 * - a command that cannot start (missing binary) resolves with a non-zero exit code and a stderr line naming it;
 *   exec rejects only when aborted (with the signal's reason) or when the sandbox itself fails (AppError `sandbox_failed`);
 * - HOME defaults to `workspaceDir`; `env` is the whole environment besides PATH/HOME;
 * - readFile/writeFile take sandbox paths under `workspaceDir` and reject with AppError `sandbox_failed` for anything
 *   that is, or leads through a symlink, outside it;
 * - after destroy, a command still running is gone, exec/readFile reject, and destroy can be called again.
 */
export function sandboxProviderContract(
  name: string,
  makeProvider: () => SandboxProvider | Promise<SandboxProvider>,
  opts: SandboxContractOptions = {},
): void {
  const scale = opts.timeScale ?? 1;

  describe(`SandboxProvider contract: ${name}`, () => {
    let provider: SandboxProvider;
    let sandbox: Sandbox;
    const others: Sandbox[] = [];
    let attempt = 0;

    const newSandbox = async (): Promise<Sandbox> => {
      attempt += 1;
      const created = await provider.create({ jobId: 'contract', attempt, toolPaths: [] }, new AbortController().signal);
      others.push(created);
      return created;
    };

    beforeEach(async () => {
      provider = await makeProvider();
      sandbox = await newSandbox();
    });

    afterEach(async () => {
      await Promise.all(others.splice(0).map((s) => s.destroy()));
    });

    const ws = (rel: string): string => `${sandbox.workspaceDir}/${rel}`;

    it('reports exit codes and captures stdout and stderr separately', async () => {
      const result = await sandbox.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
      expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
      expect((await sandbox.exec(['true'])).exitCode).toBe(0);
    });

    it('passes argv as a vector, never through a shell', async () => {
      const result = await sandbox.exec(['printf', '%s|', 'a b', '$HOME', '*', "'; echo pwned"]);
      expect(result.stdout).toBe("a b|$HOME|*|'; echo pwned|");
    });

    it('streams output live, before the command ends', async () => {
      const chunks: Array<OutputChunk & { atMs: number }> = [];
      const startedMs = Date.now();
      const result = await sandbox.exec(['sh', '-c', 'echo first; sleep 1; echo second >&2; echo third'], {
        onOutput: (chunk) => chunks.push({ ...chunk, atMs: Date.now() }),
      });
      const endedMs = Date.now();
      const first = chunks.find((c) => c.data.includes('first'));
      expect(first).toBeDefined();
      expect(endedMs - (first?.atMs ?? endedMs)).toBeGreaterThanOrEqual(500);
      expect(first!.atMs - startedMs).toBeLessThan(endedMs - startedMs);
      const joined = (stream: OutputChunk['stream']): string =>
        chunks.filter((c) => c.stream === stream).map((c) => c.data).join('');
      expect(joined('stdout')).toBe('first\nthird\n');
      expect(joined('stderr')).toBe('second\n');
      expect(result.stdout).toBe('first\nthird\n');
    });

    it('runs in workspaceDir by default and honours cwd', async () => {
      expect((await sandbox.exec(['pwd'])).stdout.trim()).toBe(sandbox.workspaceDir);
      expect((await sandbox.exec(['mkdir', '-p', 'sub/dir'])).exitCode).toBe(0);
      expect((await sandbox.exec(['pwd'], { cwd: ws('sub/dir') })).stdout.trim()).toBe(ws('sub/dir'));
    });

    it('sets the given env, a PATH, and HOME (workspaceDir unless given)', async () => {
      const result = await sandbox.exec(['sh', '-c', 'printf "%s|%s" "$GREETING" "$HOME"'], {
        env: { GREETING: 'hello world' },
      });
      expect(result.stdout).toBe(`hello world|${sandbox.workspaceDir}`);
      const custom = await sandbox.exec(['sh', '-c', 'printf %s "$HOME"'], { env: { HOME: ws('home') } });
      expect(custom.stdout).toBe(ws('home'));
    });

    it("does not leak the worker's environment", async () => {
      const canary = `canary-${Math.random().toString(36).slice(2)}`;
      process.env.TINYB_SANDBOX_CANARY = canary;
      try {
        const result = await sandbox.exec(['env'], { env: { ONLY_THIS: '1' } });
        expect(result.exitCode).toBe(0);
        expect(result.stdout).toContain('ONLY_THIS=1');
        expect(result.stdout).not.toContain('TINYB_SANDBOX_CANARY');
        expect(result.stdout).not.toContain(canary);
      } finally {
        delete process.env.TINYB_SANDBOX_CANARY;
      }
    });

    it('resolves with a non-zero exit code and a message when the command cannot start', async () => {
      const result = await sandbox.exec(['tinyb-no-such-command']);
      expect(result.exitCode).not.toBe(0);
      expect(result.timedOut).toBe(false);
      expect(result.stderr).toContain('tinyb-no-such-command');
    });

    it('kills the command and everything it started on timeout', async () => {
      // The background loop writes a heartbeat; if it survives the timeout the heartbeat keeps changing.
      const startedMs = Date.now();
      const result = await sandbox.exec(
        ['sh', '-c', 'sh -c "i=0; while :; do i=\\$((i+1)); echo \\$i > beat; sleep 0.05; done" & sleep 30'],
        { timeoutMs: 1000 * scale },
      );
      expect(result.timedOut).toBe(true);
      expect(result.exitCode).not.toBe(0);
      expect(Date.now() - startedMs).toBeLessThan(10_000 * scale);
      const before = Buffer.from(await sandbox.readFile(ws('beat'))).toString();
      await sleep(500 * scale);
      const after = Buffer.from(await sandbox.readFile(ws('beat'))).toString();
      expect(after).toBe(before);
    });

    it('rejects promptly with the reason when aborted', async () => {
      const controller = new AbortController();
      const reason = new AppError('job_timeout', 'job ran out of time');
      const startedMs = Date.now();
      const running = sandbox.exec(['sleep', '30'], { signal: controller.signal });
      setTimeout(() => controller.abort(reason), 300);
      await expect(running).rejects.toBe(reason);
      expect(Date.now() - startedMs).toBeLessThan(5000 * scale);

      const cancelled = new AbortController();
      cancelled.abort();
      await expect(sandbox.exec(['true'], { signal: cancelled.signal })).rejects.toBeInstanceOf(CancelledError);
    });

    it('roundtrips files, binary included, shared with commands', async () => {
      const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
      await sandbox.writeFile(ws('deep/nested/bytes.bin'), bytes);
      expect(Buffer.from(await sandbox.readFile(ws('deep/nested/bytes.bin')))).toEqual(Buffer.from(bytes));
      expect((await sandbox.exec(['sh', '-c', 'wc -c < deep/nested/bytes.bin'])).stdout.trim()).toBe('256');

      await sandbox.writeFile(ws('deep/text.txt'), 'héllo\n');
      const appended = await sandbox.exec(['sh', '-c', 'echo more >> deep/text.txt && echo made > deep/made.txt']);
      expect(appended.exitCode).toBe(0);
      expect(Buffer.from(await sandbox.readFile(ws('deep/text.txt'))).toString()).toBe('héllo\nmore\n');
      expect(Buffer.from(await sandbox.readFile(ws('deep/made.txt'))).toString()).toBe('made\n');

      await sandbox.writeFile(ws('deep/text.txt'), 'short');
      expect(Buffer.from(await sandbox.readFile(ws('deep/text.txt'))).toString()).toBe('short');
    });

    it('refuses paths and symlinks that lead outside the workspace', async () => {
      await expectRefused(sandbox.readFile('/etc/passwd'));
      await expectRefused(sandbox.readFile(ws('../../etc/passwd')));
      const links = await sandbox.exec(['sh', '-c', 'ln -s /etc/passwd passwd-link && ln -s /etc etc-link && ln -s .. up']);
      expect(links.exitCode).toBe(0);
      await expectRefused(sandbox.readFile(ws('passwd-link')));
      await expectRefused(sandbox.readFile(ws('etc-link/passwd')));
      await expectRefused(sandbox.readFile(ws('up/etc/passwd')));
      await expectRefused(sandbox.writeFile(ws('etc-link/tinyb-planted'), 'x'));
      await expectRefused(sandbox.writeFile(ws('passwd-link'), 'x'));
      await expectRefused(sandbox.writeFile('/tmp/tinyb-outside', 'x'));
      await expectRefused(sandbox.readFile(sandbox.workspaceDir)); // a directory, not a regular file
      await expectRefused(sandbox.readFile(ws('missing.txt')));
    });

    it('keeps sandboxes apart', async () => {
      await sandbox.writeFile(ws('mine.txt'), 'mine');
      const other = await newSandbox();
      expect(other.id).not.toBe(sandbox.id);
      await expectRefused(other.readFile(`${other.workspaceDir}/mine.txt`));
      expect((await other.exec(['sh', '-c', 'test -e mine.txt'])).exitCode).not.toBe(0);
    });

    it('destroy is idempotent, ends running commands and forbids further use', async () => {
      await sandbox.writeFile(ws('file.txt'), 'x');
      const running = sandbox.exec(['sleep', '30']);
      running.catch(() => undefined);
      await sleep(200);
      const startedMs = Date.now();
      await sandbox.destroy();
      await expect(running).rejects.toBeInstanceOf(AppError);
      expect(Date.now() - startedMs).toBeLessThan(5000 * scale);
      await sandbox.destroy();
      await expect(sandbox.exec(['true'])).rejects.toMatchObject({ code: 'sandbox_failed' });
      await expect(sandbox.readFile(ws('file.txt'))).rejects.toMatchObject({ code: 'sandbox_failed' });
    });
  });
}

async function expectRefused(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'AppError', code: 'sandbox_failed' });
}
