import fs from 'node:fs/promises';

/**
 * Kills every process on this machine that belongs to the local sandbox at `hostDir`, for a sandbox whose
 * worker died: under bubblewrap the `bwrap` processes that bind it (their command line names the directory;
 * killing them takes the sandbox's PID namespace down), without isolation any process whose working directory
 * is in it, with its whole process group (each command is a group of its own). Scans `/proc` until a scan
 * finds nothing, so a process forked during a scan is caught by the next. Returns how many were signalled.
 *
 * Under bubblewrap a dead worker's sandbox normally dies with it (`--die-with-parent`); this is the backstop.
 * Without isolation nothing ties the agent to the worker, and this is what stops it. A process there that left
 * the directory and its process group is not found: unisolated mode trusts the agent.
 */
export async function killSandboxProcesses(hostDir: string, opts: { rounds?: number; pauseMs?: number } = {}): Promise<number> {
  const rounds = opts.rounds ?? 10;
  const ownGroup = await processGroupOf(String(process.pid));
  let signalled = 0;
  for (let round = 0; round < rounds; round++) {
    const found = await processesIn(hostDir);
    if (found.length === 0) break;
    for (const pid of found) {
      const group = await processGroupOf(pid);
      // Never our own group: a test runner (or the worker) could share it.
      if (group !== undefined && group > 1 && group !== ownGroup) kill(-group);
      kill(Number(pid));
      signalled += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, opts.pauseMs ?? 50));
  }
  return signalled;
}

async function processesIn(hostDir: string): Promise<string[]> {
  const inside = (p: string) => p === hostDir || p.startsWith(`${hostDir}/`);
  const entries = await fs.readdir('/proc').catch(() => [] as string[]);
  const found: string[] = [];
  for (const pid of entries) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie is already dead
      const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
      const cwd = (await fs.readlink(`/proc/${pid}/cwd`).catch(() => '')).replace(/ \(deleted\)$/, '');
      if (argv.some(inside) || inside(cwd)) found.push(pid);
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return found;
}

async function processGroupOf(pid: string): Promise<number | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // Fields after the parenthesised command name: state, ppid, pgrp, …
  const pgrp = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[2];
  return pgrp === undefined ? undefined : Number(pgrp);
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: already gone; EPERM: not ours.
  }
}
