import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import type { Writable } from 'node:stream';
import { abortReason, AppError, toAppError, type ExecResult, type OutputChunk } from '@tinyb/core';
import { OutputCapture } from './output-capture.js';

export interface RunProcessOptions {
  command: string;
  args: string[];
  /** Host directory; the sandboxed variants leave it unset and let bwrap `--chdir`. */
  cwd?: string;
  /** The child's whole environment: never derived from `process.env`. */
  env: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  onOutput?(chunk: OutputChunk): void;
  maxOutputBytes: number;
  /** Between SIGTERM and SIGKILL when the command is timed out or aborted. */
  killGraceMs: number;
  /** Written to the child's file descriptors 3, 4, … and then closed (bwrap's `--ro-bind-data FD`). */
  fdData?: string[];
}

export interface RunningProcess {
  readonly result: Promise<ExecResult>;
  /** Kills the whole process group now and makes `result` reject with `reason`. Settles once the group is gone. */
  kill(reason: AppError): Promise<void>;
}

/** How long to wait for the pipes to close once the command itself exited and its group was killed. */
const closeGraceMs = 1000;

/**
 * Runs one command in its own session and process group (`detached`), so that a timeout, an abort or a
 * destroy can kill everything it started with one signal to the group. A command that cannot be started
 * resolves like a shell would report it (exit code 127 and a message on stderr), so that callers handle
 * "the agent CLI is missing" the same way whatever the provider.
 */
export function runProcess(opts: RunProcessOptions): RunningProcess {
  const stdout = new OutputCapture(opts.maxOutputBytes);
  const stderr = new OutputCapture(opts.maxOutputBytes);
  let child: ChildProcess | undefined;
  let failWith: AppError | undefined;
  let timedOut = false;
  let terminating = false;
  let settled = false;
  const timers: NodeJS.Timeout[] = [];
  let onAbort: (() => void) | undefined;
  let settledNotify: () => void = () => {};
  const settledPromise = new Promise<void>((resolve) => (settledNotify = resolve));

  const killGroup = (sig: NodeJS.Signals): void => {
    if (child?.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch {
      // ESRCH: the group is already gone.
    }
  };

  const terminate = (): void => {
    if (terminating) return;
    terminating = true;
    killGroup('SIGTERM');
    timers.push(setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs));
  };

  const result = new Promise<ExecResult>((resolve, reject) => {
    const finish = (code: number | null, sig: NodeJS.Signals | null, extraStderr?: string): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
      flushDecoders();
      if (extraStderr !== undefined) stderr.push(Buffer.from(extraStderr));
      settledNotify();
      if (failWith) {
        reject(failWith);
        return;
      }
      const exitCode = code ?? 128 + (sig ? (osConstants.signals[sig] ?? 0) : 0);
      resolve({ exitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut });
    };

    const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
    const emit = (stream: OutputChunk['stream'], data: string): void => {
      if (!opts.onOutput || data === '') return;
      try {
        opts.onOutput({ stream, data });
      } catch (err) {
        // A broken listener must not leave the command running unobserved.
        failWith ??= toAppError(err);
        terminate();
      }
    };
    const flushDecoders = (): void => {
      emit('stdout', decoders.stdout.end());
      emit('stderr', decoders.stderr.end());
    };

    if (opts.signal?.aborted) {
      settled = true;
      settledNotify();
      reject(abortReason(opts.signal));
      return;
    }

    const extraFds = (opts.fdData ?? []).map(() => 'pipe' as const);
    try {
      child = spawn(opts.command, opts.args, {
        cwd: opts.cwd,
        env: opts.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', ...extraFds],
      });
    } catch (err) {
      // Synchronous spawn failures are argument errors (e.g. a NUL byte in argv).
      finish(127, null, `${opts.command}: ${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }

    child.stdout?.on('data', (chunk: Buffer) => {
      stdout.push(chunk);
      emit('stdout', decoders.stdout.write(chunk));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr.push(chunk);
      emit('stderr', decoders.stderr.write(chunk));
    });
    (opts.fdData ?? []).forEach((data, i) => {
      const pipe = child?.stdio[3 + i] as Writable | null | undefined;
      if (!pipe) return;
      pipe.on('error', () => {
        // EPIPE when the child died before reading: its exit status says why.
      });
      pipe.end(data);
    });

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only spawn failures reach here (ENOENT for a missing binary or cwd, EACCES): no process exists.
      if (child?.pid === undefined) finish(127, null, `${opts.command}: ${err.message}\n`);
    });
    child.on('exit', () => {
      // Stragglers that share the group (a backgrounded `sleep &`) would hold the pipes open forever.
      killGroup('SIGKILL');
      timers.push(
        setTimeout(() => {
          child?.stdout?.destroy();
          child?.stderr?.destroy();
          finish(child?.exitCode ?? null, child?.signalCode ?? null);
        }, closeGraceMs),
      );
    });
    child.on('close', (code: number | null, sig: NodeJS.Signals | null) => finish(code, sig));

    if (opts.timeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          terminate();
        }, opts.timeoutMs),
      );
    }
    if (opts.signal) {
      const signal = opts.signal;
      onAbort = () => {
        failWith ??= abortReason(signal);
        terminate();
      };
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });

  return {
    result,
    kill(reason: AppError): Promise<void> {
      if (!settled) {
        failWith ??= reason;
        terminating = true;
        killGroup('SIGKILL');
      }
      return settledPromise;
    },
  };
}
