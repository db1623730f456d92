import path from 'node:path';
import { AppError, type ExecOptions, type ExecResult, type Sandbox } from '@tinyb/core';
import { bwrapArgs, sandboxPasswd } from './bwrap-args.js';
import { removeTree } from './remove-tree.js';
import { runProcess, type RunningProcess } from './run-process.js';
import type { SandboxNetwork } from './sandbox-network.js';
import { WorkspaceFiles } from './workspace-files.js';

/** Commands find the usual system tools; callers that need more (an agent CLI's bin) pass their own PATH. */
const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type LocalIsolation =
  | {
      kind: 'bwrap';
      bwrapPath: string;
      toolPaths: readonly string[];
      etcEntries: readonly string[];
      /** Every command gets its own network namespace; these are its only ways out. */
      network: SandboxNetwork;
      uid: number;
      gid: number;
    }
  | { kind: 'none' };

export interface LocalSandboxOptions {
  id: string;
  /** Real path of the job's private host directory. */
  hostDir: string;
  /** `hostDir` as commands see it: a fixed path under bwrap, `hostDir` itself without isolation. */
  workspaceDir: string;
  isolation: LocalIsolation;
  maxOutputBytes: number;
  maxFileBytes: number;
  killGraceMs: number;
}

/**
 * One job's sandbox on this machine. Under bwrap, a command sees a read-only system, its workspace, a private
 * /tmp and nothing else of the host; it runs as an unprivileged user in its own namespaces (network included:
 * only its own loopback and the forwarded sockets of `SandboxNetwork`), and dies with its bwrap process.
 * Without isolation it is only a cleared environment, a working directory and a process group, on the host's network.
 */
export class LocalSandbox implements Sandbox {
  readonly id: string;
  readonly workspaceDir: string;
  /** Where the workspace lives on the host: for the worker's own diagnostics and for tests. */
  readonly hostDir: string;
  private readonly files: WorkspaceFiles;
  private readonly running = new Set<RunningProcess>();
  private destroyed = false;
  private destroying: Promise<void> | undefined;

  constructor(private readonly opts: LocalSandboxOptions) {
    this.id = opts.id;
    this.hostDir = opts.hostDir;
    this.workspaceDir = opts.workspaceDir;
    this.files = new WorkspaceFiles({ hostDir: opts.hostDir, workspaceDir: opts.workspaceDir, maxFileBytes: opts.maxFileBytes });
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertAlive();
    const [command, ...args] = argv;
    if (command === undefined || command === '') throw new AppError('sandbox_failed', 'exec needs a command');
    const cwd = path.posix.resolve(this.workspaceDir, opts.cwd ?? '.');
    const { isolation } = this.opts;
    const networkEnv = isolation.kind === 'bwrap' ? isolation.network.defaultEnv : {};
    const env: Record<string, string> = { PATH: defaultPath, HOME: this.workspaceDir, ...networkEnv, ...opts.env };
    const common = {
      env,
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onOutput: opts.onOutput,
      maxOutputBytes: this.opts.maxOutputBytes,
      killGraceMs: this.opts.killGraceMs,
    };

    const running =
      isolation.kind === 'bwrap'
        ? runProcess({
            ...common,
            command: isolation.bwrapPath,
            args: [
              ...bwrapArgs({
                hostDir: this.hostDir,
                workspaceDir: this.workspaceDir,
                cwd,
                toolPaths: isolation.toolPaths,
                etcEntries: isolation.etcEntries,
                socketBinds: isolation.network.socketBinds,
                uid: isolation.uid,
                gid: isolation.gid,
                hostname: 'sandbox',
              }),
              ...isolation.network.wrap([command, ...args]),
            ],
            fdData: sandboxPasswd({ uid: isolation.uid, gid: isolation.gid, home: env.HOME ?? this.workspaceDir }),
          })
        : runProcess({ ...common, command, args, cwd });

    this.running.add(running);
    try {
      return await running.result;
    } finally {
      this.running.delete(running);
    }
  }

  async readFile(sandboxPath: string): Promise<Uint8Array> {
    this.assertAlive();
    return this.files.read(sandboxPath);
  }

  async writeFile(sandboxPath: string, data: Uint8Array | string): Promise<void> {
    this.assertAlive();
    return this.files.write(sandboxPath, data);
  }

  async writeFileStream(sandboxPath: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void> {
    this.assertAlive();
    signal.throwIfAborted();
    return this.files.write(sandboxPath, abortable(chunks, signal));
  }

  destroy(): Promise<void> {
    this.destroyed = true;
    // A failed removal is forgotten so that a later destroy (the reaper's, say) tries again.
    this.destroying ??= this.teardown().catch((err: unknown) => {
      this.destroying = undefined;
      throw err;
    });
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    const reason = new AppError('sandbox_failed', 'the sandbox was destroyed while a command was running');
    await Promise.all([...this.running].map((running) => running.kill(reason)));
    try {
      await removeTree(this.hostDir);
    } catch (err) {
      throw new AppError('sandbox_failed', `could not remove sandbox directory ${this.hostDir}`, { cause: err });
    }
  }

  private assertAlive(): void {
    if (this.destroyed) throw new AppError('sandbox_failed', `sandbox ${this.id} was destroyed`);
  }
}

/** The chunks until `signal` aborts: a cancelled job stops writing its archive at the next chunk. */
async function* abortable(chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): AsyncIterable<Uint8Array> {
  for await (const chunk of chunks) {
    signal.throwIfAborted();
    yield chunk;
  }
}
