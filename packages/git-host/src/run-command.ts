import { spawn } from 'node:child_process';
import { abortReason } from '@tinyb/core';

export interface CommandResult {
  exitCode: number | null;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a program to completion and collects its output; a non-zero exit is a result, not an error.
 * The child gets its own process group so an abort ends it and everything it started (git clone runs
 * git-remote-http and index-pack underneath), then rejects with the signal's reason.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  opts: { signal: AbortSignal; cwd?: string; env?: NodeJS.ProcessEnv },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (opts.signal.aborted) {
      reject(abortReason(opts.signal));
      return;
    }
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    const onAbort = (): void => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      opts.signal.removeEventListener('abort', onAbort);
      reject(err);
    });
    child.on('close', (exitCode) => {
      opts.signal.removeEventListener('abort', onAbort);
      if (opts.signal.aborted) reject(abortReason(opts.signal));
      else resolve({ exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') });
    });
  });
}
