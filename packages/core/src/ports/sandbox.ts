export interface SandboxSpec {
  jobId: string;
  attempt: number;
  /**
   * Host paths (files or directories) that commands in the sandbox need to see read-only at the same path,
   * such as an agent CLI's install directory. Providers whose image already ships the tools ignore them.
   */
  toolPaths: string[];
}

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  data: string;
}

export interface ExecOptions {
  /** Absolute path inside the sandbox; default `workspaceDir`. */
  cwd?: string;
  /** The whole environment of the command besides PATH/HOME defaults: nothing of the worker's leaks in. */
  env?: Record<string, string>;
  /** Kill the command (and everything it started) after this long; the result then has `timedOut: true`. */
  timeoutMs?: number;
  /** Aborting kills the command and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Output as it arrives, before the command ends. Chunks split lines arbitrarily. */
  onOutput?(chunk: OutputChunk): void;
}

export interface ExecResult {
  exitCode: number;
  /** Captured output, truncated at the provider's limit (several MiB). */
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/**
 * One isolated machine (or jail) for one job attempt. Guarantees: commands cannot see the worker's
 * environment or files outside the sandbox, and `destroy` removes everything, including processes still running.
 * Network: providers differ, and each says what it guarantees. The local provider under bwrap gives every
 * command a network namespace of its own with only a loopback: the worker's host (its Redis, its loopback,
 * its other addresses) and DNS are unreachable, and the only ways out are the worker's Unix sockets it was
 * configured to relay onto that loopback (the model gateway, an allow-listing egress proxy). The Daytona
 * provider limits egress to an allow-list of domains. Without isolation (`isolation: 'none'`), commands
 * share the worker's network.
 */
export interface Sandbox {
  readonly id: string;
  /** Absolute path, as commands see it, of the job's writable directory (the repo, HOME and TMPDIR live below it). */
  readonly workspaceDir: string;
  /**
   * Runs argv (a vector, never a shell string). A command that cannot start (missing binary) resolves with a
   * non-zero `exitCode` and a stderr message naming it; exec rejects only when aborted (with the signal's reason)
   * or when the sandbox itself fails or is destroyed meanwhile (AppError `sandbox_failed`).
   */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Reads a regular file. Paths are sandbox paths; a path (or symlink) leading outside the workspace is refused. */
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  /**
   * Writes a file from chunks as they come, for archives too big to hold in memory. Optional: a sandbox
   * without it gets the chunks joined and written with writeFile.
   */
  writeFileStream?(path: string, chunks: AsyncIterable<Uint8Array>, signal: AbortSignal): Promise<void>;
  /** Idempotent; never throws for a sandbox that is already gone. */
  destroy(): Promise<void>;
}

export interface SandboxProvider {
  /** `local`, `daytona`, … */
  readonly name: string;
  create(spec: SandboxSpec, signal: AbortSignal): Promise<Sandbox>;
}
