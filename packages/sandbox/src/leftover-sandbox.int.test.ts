import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LocalSandboxProvider } from './local-sandbox-provider.js';

/**
 * A worker SIGKILLed while its agent runs leaves its sandbox behind; `destroyLeftover` is what another
 * worker on the machine runs once the attempt registry says nobody runs it. The "worker" here is a real
 * child process, killed for real.
 */
jest.setTimeout(60_000);

const rootDir = path.join(os.tmpdir(), `tinyb-leftover-test-${process.pid}`);
const never = new AbortController().signal;

afterAll(async () => {
  await fs.rm(rootDir, { recursive: true, force: true });
});

/** Live (not zombie) processes whose command line is exactly `command`. */
async function pidsRunning(command: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (stat === '' || /\) Z /.test(stat)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').join(' ').trim() === command) pids.push(Number(entry));
  }
  return pids;
}

async function waitFor(predicate: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** A stand-in worker: creates a sandbox, starts `command` in it in the background, prints the sandbox's directory. */
function startDoomedWorker(isolation: 'bwrap' | 'none', command: string): { child: ChildProcess; dir: Promise<string> } {
  const script = `
    import { LocalSandboxProvider } from ${JSON.stringify(path.join(__dirname, 'local-sandbox-provider.ts'))};
    const provider = new LocalSandboxProvider({ isolation: ${JSON.stringify(isolation)}, rootDir: ${JSON.stringify(rootDir)} });
    const sandbox = await provider.create({ jobId: 'doomed', attempt: 1, toolPaths: [] }, new AbortController().signal);
    void sandbox.exec(['sh', '-c', ${JSON.stringify(`${command} & ${command}; wait`)}]);
    console.log('DIR ' + sandbox.hostDir);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /DIR (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`doomed worker exited early (${code})`)));
  });
  return { child, dir };
}

describe.each(['bwrap', 'none'] as const)('LocalSandboxProvider.destroyLeftover (%s)', (isolation) => {
  // A duration no other test uses, so the processes are surely this test's.
  const command = isolation === 'bwrap' ? 'sleep 171' : 'sleep 172';

  it('leaves no process and no directory of a SIGKILLed worker\'s sandbox, and touches no other sandbox', async () => {
    const provider = new LocalSandboxProvider({ isolation, rootDir });
    const bystander = await provider.create({ jobId: 'bystander', attempt: 1, toolPaths: [] }, never);
    const bystanderRun = bystander.exec(['sleep', '173']).catch(() => undefined);
    const worker = startDoomedWorker(isolation, command);
    try {
      const dir = await worker.dir;
      await waitFor(async () => (await pidsRunning(command)).length === 2, 20_000, 'sandbox processes started');
      worker.child.kill('SIGKILL');
      await new Promise((resolve) => worker.child.once('exit', resolve));

      if (isolation === 'bwrap') {
        // --die-with-parent: the sandbox dies with the worker, before anyone cleans up.
        await waitFor(async () => (await pidsRunning(command)).length === 0, 3_000, 'bwrap sandbox died with its worker');
      } else {
        // Nothing ties an unisolated command to its worker: it outlives it.
        await sleep(500);
        expect(await pidsRunning(command)).toHaveLength(2);
      }
      expect((await fs.stat(dir)).isDirectory()).toBe(true);

      await provider.destroyLeftover(path.basename(dir));
      expect(await pidsRunning(command)).toEqual([]);
      await expect(fs.stat(dir)).rejects.toThrow();
      // Idempotent.
      await provider.destroyLeftover(path.basename(dir));

      // The other sandbox on the machine is untouched.
      expect(await pidsRunning('sleep 173')).toHaveLength(1);
      expect((await fs.stat(bystander.hostDir)).isDirectory()).toBe(true);
    } finally {
      worker.child.kill('SIGKILL');
      await bystander.destroy();
      await bystanderRun;
    }
  });
});

it('refuses ids that are not a directory name under the root', async () => {
  const provider = new LocalSandboxProvider({ isolation: 'none', rootDir });
  for (const id of ['..', '.', '../etc', 'a/b', '']) {
    await expect(provider.destroyLeftover(id)).rejects.toThrow(/not a sandbox id/);
  }
});
