import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CancelledError } from '@tinyb/core';
import { runCommand } from './run-command.js';

/** Alive and not a zombie waiting for a reaper (containers do not always run one as pid 1). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

describe('runCommand', () => {
  it('returns output and a non-zero exit as a result', async () => {
    const out = await runCommand('sh', ['-c', 'printf out; printf err >&2; exit 3'], { signal: new AbortController().signal });
    expect(out).toEqual({ exitCode: 3, stdout: Buffer.from('out'), stderr: 'err' });
  });

  it('on abort kills the process and what it started, and rejects with CancelledError', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyb-run-command-'));
    try {
      const controller = new AbortController();
      // The shell starts a grandchild, as git clone starts git-remote-http.
      const running = runCommand('sh', ['-c', `sleep 30 & echo $! > ${dir}/pid; wait`], { signal: controller.signal });
      const startedAtMs = Date.now();
      let pid = 0;
      while (pid === 0 && Date.now() - startedAtMs < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        pid = Number((await readFile(path.join(dir, 'pid'), 'utf8').catch(() => '')).trim()) || 0;
      }
      expect(await isRunning(pid)).toBe(true);
      controller.abort();
      await expect(running).rejects.toBeInstanceOf(CancelledError);
      expect(Date.now() - startedAtMs).toBeLessThan(5000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await isRunning(pid)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(runCommand('true', [], { signal: controller.signal })).rejects.toBeInstanceOf(CancelledError);
  });
});
