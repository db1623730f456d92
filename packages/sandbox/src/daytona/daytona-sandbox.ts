import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Sandbox as SdkSandbox } from '@daytonaio/sdk';
import { abortReason, AppError, type ExecOptions, type ExecResult, type Logger, type OutputChunk, type Sandbox } from '@tinyb/core';
import { OutputCapture } from '../output-capture.js';
import { isNotFound, toSandboxError } from './daytona-error.js';
import { defaultPath, envFileContent, killCommand, pathCheckCommand, pathCheckExit, sessionCommand } from './sandbox-scripts.js';

export interface DaytonaSandboxOptions {
  sdkSandbox: SdkSandbox;
  /** Real path of the job's workspace inside the sandbox. */
  workspaceDir: string;
  /** Private (0700) directory for env and pid files, outside the workspace. */
  runDir: string;
  /**
   * The image's own PATH (its `ENV PATH`), read when the sandbox was prepared: commands run with it unless
   * the caller passes a PATH, so the image's CLIs are found where the image put them. Default `defaultPath`.
   */
  imagePath?: string;
  logger: Logger;
  maxOutputBytes: number;
  maxFileBytes: number;
  killGraceMs: number;
  /** For each SDK call that has its own timeout (file transfers, helper commands). */
  requestTimeoutSec: number;
}

type StopReason = { kind: 'timeout' } | { kind: 'abort'; error: AppError } | { kind: 'destroyed' };

interface RunningExec {
  stop(reason: StopReason): void;
}

/** How long to wait for Daytona to report an exit code after the log stream closed. */
const exitCodeWaitMs = 5000;

/**
 * One job attempt's Daytona sandbox. Commands run through a session, one session per command, so their
 * output streams live over the logs WebSocket and a timeout or abort can end exactly that command (its whole
 * process group, then the session). Files move through the toolbox file API after a path check that runs
 * inside the sandbox, where the symlinks are.
 */
export class DaytonaSandbox implements Sandbox {
  readonly id: string;
  readonly workspaceDir: string;
  private readonly sdk: SdkSandbox;
  private readonly running = new Set<RunningExec>();
  private destroyed = false;
  private destroying: Promise<void> | undefined;

  constructor(private readonly opts: DaytonaSandboxOptions) {
    this.sdk = opts.sdkSandbox;
    this.id = opts.sdkSandbox.id;
    this.workspaceDir = opts.workspaceDir;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertAlive();
    if (argv.length === 0 || argv[0] === '') throw new AppError('sandbox_failed', 'exec needs a command');
    if (opts.signal?.aborted) throw abortReason(opts.signal);
    const startedMs = Date.now();
    const cwd = path.posix.resolve(this.workspaceDir, opts.cwd ?? '.');
    const envText = envFileContent({ PATH: this.opts.imagePath ?? defaultPath, HOME: this.workspaceDir, ...opts.env });
    const key = randomUUID();
    const sessionId = `tinyb-${key}`;
    const envFile = `${this.opts.runDir}/env-${key}`;
    const pidFile = `${this.opts.runDir}/pid-${key}`;

    let stop: (reason: StopReason) => void = () => undefined;
    const stopped = new Promise<StopReason>((resolve) => (stop = resolve));
    const entry: RunningExec = { stop: (reason) => stop(reason) };
    this.running.add(entry);
    const onAbort = (): void => stop({ kind: 'abort', error: abortReason(opts.signal!) });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => stop({ kind: 'timeout' }), opts.timeoutMs);
    /** Races one step of the setup against a stop, so an abort during setup is not delayed by it. */
    const unlessStopped = async <T>(step: Promise<T>): Promise<T | StopReason> => {
      step.catch(() => undefined);
      return Promise.race([step, stopped]);
    };

    const stdout = new OutputCapture(this.opts.maxOutputBytes);
    const stderr = new OutputCapture(this.opts.maxOutputBytes);
    const seen = { stdout: 0, stderr: 0 };
    const emit = (stream: OutputChunk['stream'], data: string): void => {
      if (data === '') return;
      seen[stream] += data.length;
      (stream === 'stdout' ? stdout : stderr).push(Buffer.from(data, 'utf8'));
      try {
        opts.onOutput?.({ stream, data });
      } catch (err) {
        this.opts.logger.warn({ err, sandboxId: this.id }, 'onOutput callback threw');
      }
    };
    const result = (exitCode: number, timedOut: boolean): ExecResult => ({ exitCode, stdout: stdout.text(), stderr: stderr.text(), timedOut });

    let sessionCreated = false;
    let commandStarted = false;
    try {
      // Secrets travel as a file (in the 0700 run dir, itself 0600), never in the command string: see sessionCommand.
      const setup = await unlessStopped(
        (async () => {
          await this.sdk.fs.uploadFile(Buffer.from(envText, 'utf8'), envFile, this.opts.requestTimeoutSec);
          await this.sdk.fs.setFilePermissions(envFile, { mode: '600' });
          await this.sdk.process.createSession(sessionId);
          sessionCreated = true;
          const started = await this.sdk.process.executeSessionCommand(sessionId, {
            command: sessionCommand({ envFile, cwd, pidFile, argv }),
            runAsync: true,
          });
          commandStarted = true;
          return started.cmdId;
        })(),
      );
      if (typeof setup !== 'string') return await this.finishStopped(setup, { sessionId, pidFile, commandStarted, result });
      const cmdId = setup;

      const logs = this.sdk.process.getSessionCommandLogs(
        sessionId,
        cmdId,
        (chunk) => emit('stdout', chunk),
        (chunk) => emit('stderr', chunk),
      );
      const streamed = await unlessStopped(logs.then(() => 'ended' as const)).catch((err: unknown) => {
        // The stream broke (proxy hiccup): the command goes on, so wait for its end by polling instead.
        this.opts.logger.warn({ err, sandboxId: this.id }, 'command log stream failed; polling instead');
        return 'stream-failed' as const;
      });
      let outcome: 'ended' | StopReason;
      if (streamed !== 'stream-failed') {
        outcome = streamed;
      } else {
        outcome = await unlessStopped(this.waitForExit(sessionId, cmdId, Number.POSITIVE_INFINITY).then(() => 'ended' as const));
        if (outcome === 'ended') {
          const full = await this.sdk.process.getSessionCommandLogs(sessionId, cmdId);
          emit('stdout', (full.stdout ?? '').slice(seen.stdout));
          emit('stderr', (full.stderr ?? '').slice(seen.stderr));
        }
      }
      if (outcome !== 'ended') return await this.finishStopped(outcome, { sessionId, pidFile, commandStarted, result, logs });

      const exitCode = await this.waitForExit(sessionId, cmdId, exitCodeWaitMs);
      if (exitCode === undefined) throw new AppError('sandbox_failed', `Daytona reported no exit code for a finished command`, { retryable: true });
      this.opts.logger.debug({ sandboxId: this.id, command: argv[0], exitCode, durationMs: Date.now() - startedMs }, 'command finished');
      return result(exitCode, false);
    } catch (err) {
      if (this.destroyed) throw new AppError('sandbox_failed', `sandbox ${this.id} was destroyed while a command was running`, { cause: err });
      throw toSandboxError(err, 'exec');
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.running.delete(entry);
      if (!this.destroyed) {
        if (sessionCreated) void this.sdk.process.deleteSession(sessionId).catch(() => undefined);
        // The command deletes the env file itself once it has read it; one that never started cannot.
        if (!commandStarted) void this.sdk.fs.deleteFile(envFile).catch(() => undefined);
      }
    }
  }

  async readFile(sandboxPath: string): Promise<Uint8Array> {
    this.assertAlive();
    const resolved = await this.checkPath(sandboxPath, 'read');
    try {
      return new Uint8Array(await this.sdk.fs.downloadFile(resolved, this.opts.requestTimeoutSec));
    } catch (err) {
      throw this.destroyed ? this.destroyedError(err) : toSandboxError(err, 'read');
    }
  }

  async writeFile(sandboxPath: string, data: Uint8Array | string): Promise<void> {
    this.assertAlive();
    const resolved = await this.checkPath(sandboxPath, 'write');
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      await this.sdk.fs.uploadFile(bytes, resolved, this.opts.requestTimeoutSec);
    } catch (err) {
      throw this.destroyed ? this.destroyedError(err) : toSandboxError(err, 'write');
    }
  }

  /** Deletes the sandbox in Daytona (which ends every process in it). A sandbox already gone is success. */
  /** Replaces the sandbox's labels (Daytona keeps no others): a warm pool names the job it lends a sandbox to. */
  async relabel(labels: Record<string, string>): Promise<void> {
    this.assertAlive();
    try {
      await this.sdk.setLabels(labels);
    } catch (err) {
      throw toSandboxError(err, 'relabel');
    }
  }

  /** Whether destroy() was called (a pool never lends such a sandbox). */
  get isDestroyed(): boolean {
    return this.destroyed;
  }

  destroy(): Promise<void> {
    this.destroyed = true;
    for (const running of this.running) running.stop({ kind: 'destroyed' });
    // A failed delete is forgotten so that a later destroy (the reaper's, say) tries again.
    this.destroying ??= this.sdk.delete(this.opts.requestTimeoutSec).then(
      () => this.opts.logger.info({ sandboxId: this.id }, 'daytona sandbox deleted'),
      (err: unknown) => {
        if (isNotFound(err)) return;
        this.destroying = undefined;
        throw toSandboxError(err, 'destroy');
      },
    );
    return this.destroying;
  }

  /** Ends a command that was stopped: kills its process group unless the whole sandbox is going anyway. */
  private async finishStopped(
    reason: StopReason,
    ctx: { sessionId: string; pidFile: string; commandStarted: boolean; result: (exitCode: number, timedOut: boolean) => ExecResult; logs?: Promise<void> },
  ): Promise<ExecResult> {
    if (reason.kind === 'destroyed') throw new AppError('sandbox_failed', `sandbox ${this.id} was destroyed while a command was running`);
    await this.killGroup(ctx.pidFile, ctx.commandStarted);
    if (reason.kind === 'abort') throw reason.error;
    // Let the last output written before the kill arrive, briefly.
    if (ctx.logs) await Promise.race([ctx.logs.catch(() => undefined), delay(1000)]);
    this.opts.logger.info({ sandboxId: this.id }, 'command timed out and was killed');
    return ctx.result(124, true);
  }

  private async killGroup(pidFile: string, commandStarted: boolean): Promise<void> {
    if (!commandStarted) return;
    try {
      const timeoutSec = Math.ceil(this.opts.killGraceMs / 1000) + 10;
      await this.sdk.process.executeCommand(killCommand(pidFile, this.opts.killGraceMs), undefined, undefined, timeoutSec);
    } catch (err) {
      // The session is deleted next, which ends the command on Daytona's side too; report but go on.
      this.opts.logger.warn({ err: toSandboxError(err, 'exec'), sandboxId: this.id }, 'could not kill a command');
    }
  }

  /** Polls the command until Daytona reports its exit code, or `waitMs` passed (then undefined). */
  private async waitForExit(sessionId: string, cmdId: string, waitMs: number): Promise<number | undefined> {
    const deadline = Date.now() + waitMs;
    for (let pauseMs = 50; ; pauseMs = Math.min(pauseMs * 2, 1000)) {
      const command = await this.sdk.process.getSessionCommand(sessionId, cmdId);
      if (typeof command.exitCode === 'number') return command.exitCode;
      if (Date.now() >= deadline || this.destroyed) return undefined;
      await delay(pauseMs);
    }
  }

  /**
   * Refuses paths outside the workspace on their face, then asks the sandbox where the path really leads
   * (symlinks resolved). Returns the resolved path for the file API.
   */
  private async checkPath(sandboxPath: string, mode: 'read' | 'write'): Promise<string> {
    const normalized = path.posix.normalize(sandboxPath);
    if (!path.posix.isAbsolute(sandboxPath) || !normalized.startsWith(`${this.workspaceDir}/`)) {
      throw new AppError('sandbox_failed', `refused: ${sandboxPath} is outside the workspace`);
    }
    let response: { exitCode: number; result: string };
    try {
      response = await this.sdk.process.executeCommand(
        pathCheckCommand({ path: normalized, workspaceDir: this.workspaceDir, mode, maxBytes: this.opts.maxFileBytes }),
        undefined,
        undefined,
        this.opts.requestTimeoutSec,
      );
    } catch (err) {
      throw this.destroyed ? this.destroyedError(err) : toSandboxError(err, mode);
    }
    switch (response.exitCode) {
      case 0:
        if (!response.result.startsWith(`${this.workspaceDir}/`)) {
          throw new AppError('sandbox_failed', `refused: ${sandboxPath} resolves outside the workspace`);
        }
        return response.result;
      case pathCheckExit.outside:
        throw new AppError('sandbox_failed', `refused: ${sandboxPath} leads outside the workspace`);
      case pathCheckExit.notRegularFile:
        throw new AppError('sandbox_failed', `${sandboxPath} is not a regular file`);
      case pathCheckExit.tooLarge:
        throw new AppError('sandbox_failed', `${sandboxPath} is larger than ${this.opts.maxFileBytes} bytes`);
      case pathCheckExit.cannotCreate:
        throw new AppError('sandbox_failed', `cannot create the directory of ${sandboxPath}`);
      default:
        throw new AppError('sandbox_failed', `path check failed for ${sandboxPath} (exit code ${response.exitCode})`, { retryable: true });
    }
  }

  private destroyedError(cause: unknown): AppError {
    return new AppError('sandbox_failed', `sandbox ${this.id} was destroyed`, { cause });
  }

  private assertAlive(): void {
    if (this.destroyed) throw new AppError('sandbox_failed', `sandbox ${this.id} was destroyed`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
