import { accessSync, constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, throwIfAborted, type SandboxProvider, type SandboxSpec } from '@tinyb/core';
import { defaultEtcEntries } from './bwrap-args.js';
import { findBwrap } from './find-bwrap.js';
import { findExecutable } from './find-executable.js';
import { killSandboxProcesses } from './kill-sandbox-processes.js';
import { LocalSandbox, type LocalIsolation } from './local-sandbox.js';
import { removeTree } from './remove-tree.js';
import { SandboxNetwork, type SandboxNetworkOptions } from './sandbox-network.js';

export interface LocalSandboxProviderOptions {
  /**
   * `bwrap` (default): every command runs in bubblewrap. `none`: commands run directly on the host in the
   * job's directory with a cleared environment: an operator's explicit opt-in for machines without bwrap,
   * which the caller must log as unisolated.
   */
  isolation?: 'bwrap' | 'none';
  /** Parent of the jobs' directories; default `<os.tmpdir()>/tiny-backspace-sandboxes`. */
  rootDir?: string;
  /** Default: the first `bwrap` on `searchPath` (`findBwrap`). */
  bwrapPath?: string;
  /** Where to look for bwrap when `bwrapPath` is not given; default a standard system PATH. */
  searchPath?: string;
  /** Where commands see the workspace under bwrap; default `/workspace`. */
  workspaceDir?: string;
  /** The unprivileged user commands run as under bwrap; default 1000/1000. */
  uid?: number;
  gid?: number;
  /** Per stream; output beyond it is dropped (the head is kept). Default 8 MiB. */
  maxOutputBytes?: number;
  /** readFile's limit. Default 64 MiB. */
  maxFileBytes?: number;
  /** Between SIGTERM and SIGKILL on timeout or abort. Default 2000. */
  killGraceMs?: number;
  /** Host /etc entries the sandbox sees (read-only, when present). Default `defaultEtcEntries`. */
  etcEntries?: readonly string[];
  /**
   * Under bwrap every command has a network of its own with only a loopback: by default it reaches nothing.
   * These host Unix sockets are relayed onto that loopback (the model gateway, the egress proxy). Ignored with
   * `isolation: 'none'`, where commands share the host's network.
   */
  network?: SandboxNetworkOptions;
  /** The relay run inside the sandbox for `network`; default the first `socat` on `searchPath`. */
  socatPath?: string;
}

const unavailableHint = 'install it or set SANDBOX_ALLOW_UNISOLATED=true to run agents without isolation';

/**
 * The embedded sandbox: one private directory per job attempt under `rootDir`, commands jailed by bubblewrap.
 * The constructor fails fast when bwrap is missing; `check()` (or the static `create`) also proves that it
 * can create namespaces here, which a container without the right privileges does not allow.
 */
export class LocalSandboxProvider implements SandboxProvider {
  readonly name = 'local';
  readonly isolation: 'bwrap' | 'none';
  readonly rootDir: string;
  private readonly bwrapPath: string | undefined;
  private readonly workspaceDir: string;
  private readonly uid: number;
  private readonly gid: number;
  private readonly maxOutputBytes: number;
  private readonly maxFileBytes: number;
  private readonly killGraceMs: number;
  private readonly etcEntries: readonly string[];
  private readonly network: SandboxNetwork;

  constructor(opts: LocalSandboxProviderOptions = {}) {
    this.isolation = opts.isolation ?? 'bwrap';
    this.rootDir = path.resolve(opts.rootDir ?? path.join(os.tmpdir(), 'tiny-backspace-sandboxes'));
    this.workspaceDir = opts.workspaceDir ?? '/workspace';
    this.uid = opts.uid ?? 1000;
    this.gid = opts.gid ?? 1000;
    this.maxOutputBytes = opts.maxOutputBytes ?? 8 * 1024 * 1024;
    this.maxFileBytes = opts.maxFileBytes ?? 64 * 1024 * 1024;
    this.killGraceMs = opts.killGraceMs ?? 2000;
    this.etcEntries = opts.etcEntries ?? defaultEtcEntries;
    if (!path.posix.isAbsolute(this.workspaceDir) || path.posix.normalize(this.workspaceDir) !== this.workspaceDir || this.workspaceDir === '/') {
      throw new AppError('sandbox_unavailable', `workspaceDir must be a normalized absolute path below /, got ${this.workspaceDir}`);
    }
    if (this.isolation === 'bwrap') {
      this.bwrapPath = opts.bwrapPath ?? findBwrap(opts.searchPath);
      if (this.bwrapPath === undefined || !isExecutable(this.bwrapPath)) {
        throw new AppError('sandbox_unavailable', `bubblewrap (bwrap) is not installed; ${unavailableHint}`);
      }
    }
    const forwarding = this.isolation === 'bwrap' && (opts.network?.forwards?.length || opts.network?.httpProxy);
    const socatPath = forwarding ? (opts.socatPath ?? findExecutable('socat', opts.searchPath)) : undefined;
    if (forwarding && (socatPath === undefined || !isExecutable(socatPath))) {
      throw new AppError('sandbox_unavailable', 'socat is not installed; the sandbox needs it to reach the sockets in `network` (apt-get install socat)');
    }
    this.network = new SandboxNetwork(this.isolation === 'bwrap' ? { ...opts.network, socatPath } : {});
  }

  /** Constructs and `check()`s: what a worker calls at startup. */
  static async create(opts: LocalSandboxProviderOptions = {}, signal?: AbortSignal): Promise<LocalSandboxProvider> {
    const provider = new LocalSandboxProvider(opts);
    await provider.check(signal);
    return provider;
  }

  /** Runs `true` in a throwaway sandbox; throws AppError('sandbox_unavailable') with bwrap's own complaint. */
  async check(signal: AbortSignal = new AbortController().signal): Promise<void> {
    if (this.bwrapPath !== undefined) {
      try {
        await fs.access(this.bwrapPath, constants.X_OK);
      } catch {
        throw new AppError('sandbox_unavailable', `bubblewrap (bwrap) is not executable at ${this.bwrapPath}; ${unavailableHint}`);
      }
    }
    const sandbox = await this.create({ jobId: 'startup-check', attempt: 0, toolPaths: [] }, signal);
    try {
      const result = await sandbox.exec(['true'], { timeoutMs: 10_000, signal });
      if (result.exitCode !== 0) {
        const why = result.timedOut ? 'timed out' : result.stderr.trim() || `exit code ${result.exitCode}`;
        throw new AppError('sandbox_unavailable', `bubblewrap (bwrap) cannot create a sandbox here: ${why}; ${unavailableHint}`);
      }
    } finally {
      await sandbox.destroy();
    }
  }

  async create(spec: SandboxSpec, signal: AbortSignal): Promise<LocalSandbox> {
    throwIfAborted(signal);
    const isolation = await this.isolationFor(spec);
    await this.ensureRootDir();
    const prefix = `${spec.jobId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}-${spec.attempt}-`;
    const created = await fs.mkdtemp(path.join(this.rootDir, prefix));
    try {
      throwIfAborted(signal);
      const hostDir = await fs.realpath(created);
      return new LocalSandbox({
        id: path.basename(hostDir),
        hostDir,
        workspaceDir: isolation.kind === 'bwrap' ? this.workspaceDir : hostDir,
        isolation,
        maxOutputBytes: this.maxOutputBytes,
        maxFileBytes: this.maxFileBytes,
        killGraceMs: this.killGraceMs,
      });
    } catch (err) {
      await removeTree(created).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Destroys sandbox `id` (a directory name under the root) of a worker on this machine that is gone: first
   * any process still running in it, then the directory. Only for sandboxes no live worker runs (the attempt
   * registry says which); idempotent.
   */
  async destroyLeftover(id: string): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(id) || id === '.' || id === '..') {
      throw new AppError('sandbox_failed', `not a sandbox id: ${JSON.stringify(id.slice(0, 100))}`);
    }
    const dir = path.join(this.rootDir, id);
    // Commands name the directory by its real path (the root may sit behind a symlink, as /tmp can).
    const realDir = await fs.realpath(dir).catch(() => dir);
    await killSandboxProcesses(realDir);
    if (realDir !== dir) await killSandboxProcesses(dir);
    await removeTree(dir);
  }

  /** Where sandbox `id` lives on this machine (for records that let another process clean it up). */
  dirOf(id: string): string {
    return path.join(this.rootDir, id);
  }

  /**
   * Removes sandbox directories left by a worker that crashed (a clean worker always destroys its own), and
   * any process still running in them. Only directories older than `maxAgeMs` go, so with the job time limit as
   * the age, no directory of a job still running (on this or another worker sharing the root) is touched: the
   * backstop behind `destroyLeftover`. Returns how many were removed.
   */
  async sweepStale(maxAgeMs: number, now = Date.now()): Promise<number> {
    await this.ensureRootDir();
    let removed = 0;
    for (const entry of await fs.readdir(this.rootDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = path.join(this.rootDir, entry.name);
      const stat = await fs.lstat(dir).catch(() => undefined);
      if (!stat || now - stat.mtimeMs < maxAgeMs) continue;
      await killSandboxProcesses(dir);
      await removeTree(dir).then(
        () => removed++,
        () => undefined,
      );
    }
    return removed;
  }

  private async isolationFor(spec: SandboxSpec): Promise<LocalIsolation> {
    if (this.isolation === 'none' || this.bwrapPath === undefined) return { kind: 'none' };
    for (const toolPath of spec.toolPaths) {
      if (!path.isAbsolute(toolPath) || path.resolve(toolPath) === '/') {
        throw new AppError('sandbox_failed', `tool path must be an absolute path below /, got ${toolPath}`);
      }
      // A tool path above or inside the jobs' directories would show other jobs' workspaces.
      if (!isOutside(toolPath, this.rootDir) || !isOutside(this.rootDir, toolPath)) {
        throw new AppError('sandbox_failed', `tool path ${toolPath} overlaps the sandboxes' directory ${this.rootDir}`);
      }
      await fs.stat(toolPath).catch((err: unknown) => {
        throw new AppError('sandbox_failed', `tool path ${toolPath} is not accessible`, { cause: err });
      });
    }
    return {
      kind: 'bwrap',
      bwrapPath: this.bwrapPath,
      toolPaths: [...spec.toolPaths],
      etcEntries: this.etcEntries,
      network: this.network,
      uid: this.uid,
      gid: this.gid,
    };
  }

  /** The root may sit in a world-writable /tmp: it must be our own directory, not something planted there. */
  private async ensureRootDir(): Promise<void> {
    await fs.mkdir(this.rootDir, { recursive: true, mode: 0o700 });
    const stat = await fs.lstat(this.rootDir);
    if (!stat.isDirectory() || (process.getuid !== undefined && stat.uid !== process.getuid())) {
      throw new AppError('sandbox_unavailable', `sandbox root ${this.rootDir} is not a directory owned by this user`);
    }
  }
}

/** Whether `target` is neither `base` nor below it. */
function isOutside(base: string, target: string): boolean {
  const relative = path.relative(base, target);
  return relative.startsWith('..') || path.isAbsolute(relative);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
