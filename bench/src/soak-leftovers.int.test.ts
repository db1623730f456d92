import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeftoverWatch } from './soak-leftovers.js';

/** The soak's leftover check against real processes: a "worker" (a shell) whose child outlives a SIGKILL. */
describe('LeftoverWatch', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  const strays: number[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tinyb-leftover-watch-'));
  });
  afterEach(async () => {
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the child of a killed worker that is still alive and a directory left in a sandbox root, and nothing once they are gone', async () => {
    const root = join(dir, 'sandboxes');
    await mkdir(root);
    // A stand-in worker: a shell that starts a long sleep and waits for it.
    const worker = spawn('sh', ['-c', 'sleep 300 & echo $!; wait'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(worker);
    const sleepPid = Number(await new Promise<string>((resolve) => worker.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim()))));
    strays.push(sleepPid);
    let workers = [worker.pid!];
    const watch = new LeftoverWatch({ soakDir: dir, workerPids: () => workers, sandboxRoots: () => [root] });

    watch.sample();
    // Under a live worker and outside any sandbox: a helper of the worker, not a leftover.
    expect(await watch.check()).toEqual({ sandboxDirs: [], processes: [] });

    worker.kill('SIGKILL');
    await new Promise((r) => worker.once('exit', r));
    workers = [];
    await writeFile(join(root, 'job-sandbox'), '');
    const left = await watch.check();
    expect(left.sandboxDirs).toEqual([join(root, 'job-sandbox')]);
    expect(left.processes).toEqual([`${sleepPid} sleep 300`]);

    process.kill(sleepPid, 'SIGKILL');
    await rm(join(root, 'job-sandbox'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await watch.check()).toEqual({ sandboxDirs: [], processes: [] });
  });
});
