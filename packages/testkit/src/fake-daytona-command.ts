import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

export type FakeStream = 'stdout' | 'stderr';
export interface FakeOutput {
  stream: FakeStream;
  data: Buffer;
}

/** After the shell exits, how long to wait for pipes held open by a background child before the logs end anyway. */
const pipeGraceMs = 500;

/**
 * One command the fake runs for real: `sh -c <command>` on the host, in its own process group so the
 * whole group can be killed, with exactly the environment it is given (nothing of the test process).
 */
export class FakeCommand {
  exitCode: number | undefined;
  readonly output: FakeOutput[] = [];
  /** Resolves once the command exited and its output ended. */
  readonly done: Promise<void>;
  private readonly child: ChildProcess;
  private readonly listeners = new Set<(chunk: FakeOutput | null) => void>();
  private finished = false;

  constructor(
    readonly id: string,
    readonly command: string,
    opts: { cwd: string; env: Record<string, string> },
  ) {
    this.child = spawn('sh', ['-c', command], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const push = (stream: FakeStream) => (data: Buffer) => {
      const chunk = { stream, data };
      this.output.push(chunk);
      for (const listener of this.listeners) listener(chunk);
    };
    this.child.stdout?.on('data', push('stdout'));
    this.child.stderr?.on('data', push('stderr'));
    this.done = new Promise<void>((resolve) => {
      const finish = (): void => {
        if (this.finished) return;
        this.finished = true;
        for (const listener of this.listeners) listener(null);
        this.listeners.clear();
        resolve();
      };
      this.child.on('error', (err) => {
        push('stderr')(Buffer.from(`sh: ${err.message}\n`));
        this.exitCode ??= 127;
        finish();
      });
      this.child.on('exit', (code, signal) => {
        this.exitCode = code ?? 128 + signalNumber(signal);
        setTimeout(finish, pipeGraceMs).unref();
      });
      this.child.on('close', finish);
    });
  }

  get running(): boolean {
    return !this.finished;
  }

  /** Output so far, then every new chunk; `null` marks the end. Returns the unsubscribe function. */
  follow(listener: (chunk: FakeOutput | null) => void): () => void {
    for (const chunk of this.output) listener(chunk);
    if (this.finished) {
      listener(null);
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  text(stream?: FakeStream): string {
    return Buffer.concat(this.output.filter((c) => stream === undefined || c.stream === stream).map((c) => c.data)).toString('utf8');
  }

  kill(): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // ESRCH: already gone.
    }
  }
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return (signal && numbers[signal]) ?? 1;
}

/**
 * Kills every process of this user whose working directory is inside `dir`. Commands that left their
 * process group (a `setsid` in the command) are not reached by group kills; deleting a real sandbox kills
 * them with the machine, so the fake approximates that by where they run.
 */
export async function killProcessesUnder(dir: string): Promise<void> {
  const entries = await fs.readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cwd = await fs.readlink(`/proc/${entry}/cwd`).catch(() => undefined);
    if (cwd === undefined) continue;
    const relative = path.relative(dir, cwd);
    if (relative.startsWith('..') || path.isAbsolute(relative)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}
