import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { processTree } from './proc-tree.js';

/** A process seen once; pid and start time together, so a recycled pid is not mistaken for it. */
interface SeenProcess {
  pid: number;
  startTicks: string;
  command: string;
  /** bwrap, or a process in a PID namespace other than its worker's: a sandbox's. */
  sandboxed: boolean;
}

export interface Leftovers {
  /** Directories still under a worker's SANDBOX_ROOT. */
  sandboxDirs: string[];
  /**
   * Still alive: processes a worker started that outlived it (reparented away from every live worker), sandbox
   * processes (bwrap, the agent, its tools) even under a live worker, and bwrap processes naming the soak's directory.
   */
  processes: string[];
}

/**
 * What the workers leave on the machine. Every process below a worker is noted while the soak runs (a SIGKILLed
 * worker's children are reparented, and would no longer be found under it), then checked for at the end; any
 * bwrap process whose arguments name the soak's directory counts as well, noted or not. A live worker's own
 * helpers outside any sandbox (tsx's esbuild service) are not leftovers. Other engineers' and tests' processes
 * on the same machine are not ours and are never counted.
 */
export class LeftoverWatch {
  private readonly seen = new Map<string, SeenProcess>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: { soakDir: string; workerPids: () => number[]; sandboxRoots: () => string[]; intervalMs?: number }) {}

  start(): void {
    this.timer = setInterval(() => this.sample(), this.opts.intervalMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Notes every live descendant of the workers. */
  sample(): void {
    for (const workerPid of this.opts.workerPids()) {
      const workerNamespace = pidNamespace(workerPid);
      for (const pid of processTree(workerPid)) {
        if (pid === workerPid) continue;
        const info = readProcess(pid);
        if (info === undefined) continue;
        const sandboxed = isBwrap(info.command) || pidNamespace(pid) !== workerNamespace;
        this.seen.set(`${pid}:${info.startTicks}`, { pid, ...info, sandboxed });
      }
    }
  }

  async check(): Promise<Leftovers> {
    const sandboxDirs: string[] = [];
    for (const root of this.opts.sandboxRoots()) {
      const entries = await readdir(root).catch(() => [] as string[]);
      sandboxDirs.push(...entries.map((e) => `${root}/${e}`));
    }
    const alive = new Map<number, string>();
    const underLiveWorkers = new Set(this.opts.workerPids().flatMap((pid) => processTree(pid)));
    for (const p of this.seen.values()) {
      const now = readProcess(p.pid);
      if (now === undefined || now.startTicks !== p.startTicks) continue;
      if (p.sandboxed || !underLiveWorkers.has(p.pid)) alive.set(p.pid, p.command);
    }
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const info = readProcess(Number(name));
      if (info !== undefined && isBwrap(info.command) && info.command.includes(this.opts.soakDir)) alive.set(Number(name), info.command);
    }
    return { sandboxDirs, processes: [...alive].map(([pid, command]) => `${pid} ${command.slice(0, 120)}`) };
  }
}

/** Start time and command line of a live process; undefined when it is gone or a zombie. */
function readProcess(pid: number): { startTicks: string; command: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined;
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { startTicks: fields[19] ?? '', command };
  } catch {
    return undefined;
  }
}

const isBwrap = (command: string) => /^(\S*\/)?bwrap( |$)/.test(command);

function pidNamespace(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}
