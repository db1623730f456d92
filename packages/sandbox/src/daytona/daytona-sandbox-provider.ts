import {
  Daytona,
  type CreateSandboxFromImageParams,
  type CreateSandboxFromSnapshotParams,
  type DaytonaConfig,
  type Sandbox as SdkSandbox,
} from '@daytonaio/sdk';
import { abortReason, AppError, throwIfAborted, type Logger, type SandboxProvider, type SandboxSpec } from '@tinyb/core';
import { isNotFound, toSandboxError } from './daytona-error.js';
import { DaytonaSandbox } from './daytona-sandbox.js';
import { parsePrepared, prepareCommand } from './sandbox-scripts.js';

/** The label every Tiny Backspace sandbox carries; the reaper lists and deletes only sandboxes with it. */
export const appLabel = { app: 'tiny-backspace' } as const;

export type DaytonaSandboxSource =
  /** A prepared snapshot (see infra/daytona): starts in seconds. */
  | { snapshot: string; image?: never }
  /** A registry image, built by Daytona on first use (slow); `resources` apply only here. */
  | { image: string; snapshot?: never; resources?: { cpu: number; memoryGiB: number; diskGiB: number } };

export type DaytonaSandboxProviderOptions = DaytonaSandboxSource & {
  /** A client, or its configuration (then the provider owns the client and `close()` disposes of it). */
  daytona: Daytona | DaytonaConfig;
  /** Minutes of inactivity before Daytona stops a sandbox (0 = never): a backstop for a crashed worker. */
  autoStopIntervalMin: number;
  /** Minutes after stopping before Daytona deletes it (0 = at once, negative = never). */
  autoDeleteIntervalMin: number;
  /**
   * Egress: when given, all outbound traffic is blocked except to these domains (the model API host). When
   * absent, the sandbox has Daytona's default (open) egress.
   */
  networkAllowDomains?: string[];
  /** How long create may take, sandbox start included. */
  createTimeoutSec: number;
  logger: Logger;
  /** Per stream; output beyond it is dropped (the head is kept). Default 8 MiB. */
  maxOutputBytes?: number;
  /** readFile's limit. Default 64 MiB. */
  maxFileBytes?: number;
  /** Between TERM and KILL when a command is timed out or aborted. Default 2000. */
  killGraceMs?: number;
  /** Timeout of each file transfer and helper call. Default 300. */
  requestTimeoutSec?: number;
};

/** A Tiny Backspace sandbox as the reaper sees it. */
export interface OwnSandbox {
  id: string;
  /** From the `jobId` label; undefined when the label is missing. */
  jobId: string | undefined;
  attempt: number | undefined;
  /** From the `pool` label: a warm pool's sandbox that no job has yet. */
  pool: string | undefined;
  createdAt: Date | undefined;
  state: string | undefined;
}

/** The labels of a job's sandbox: what the reaper judges it by. */
export function jobLabels(spec: Pick<SandboxSpec, 'jobId' | 'attempt'>): Record<string, string> {
  return { ...appLabel, jobId: spec.jobId, attempt: String(spec.attempt) };
}

/** Where, under the sandbox's work dir, the job's files live. */
const baseDirName = 'tinyb';

/**
 * Sandboxes in Daytona, one per job attempt, from a snapshot (or image) that already ships git, tar and
 * the agent CLIs, so `SandboxSpec.toolPaths` are ignored. Each carries the labels `app`, `jobId` and
 * `attempt`, which `listOwn` (for the reaper) filters on.
 */
export class DaytonaSandboxProvider implements SandboxProvider {
  readonly name = 'daytona';
  private readonly daytona: Daytona;
  private readonly ownsClient: boolean;
  private readonly logger: Logger;

  constructor(private readonly opts: DaytonaSandboxProviderOptions) {
    if ((opts.snapshot === undefined) === (opts.image === undefined)) {
      throw new AppError('sandbox_unavailable', 'Daytona needs exactly one of a snapshot or an image');
    }
    this.ownsClient = !(opts.daytona instanceof Daytona);
    this.daytona = opts.daytona instanceof Daytona ? opts.daytona : new Daytona(opts.daytona);
    this.logger = opts.logger.child({ provider: 'daytona' });
  }

  /** Proves the credentials and the API URL with one cheap list call: what a worker does at startup. */
  async check(): Promise<void> {
    try {
      await this.daytona.list({ labels: { ...appLabel }, limit: 1 }).next();
    } catch (err) {
      const mapped = toSandboxError(err, 'list');
      throw mapped.code === 'sandbox_unavailable' ? mapped : new AppError('sandbox_unavailable', mapped.message, { cause: err });
    }
  }

  async create(spec: SandboxSpec, signal: AbortSignal): Promise<DaytonaSandbox> {
    return this.createLabelled(jobLabels(spec), signal, { jobId: spec.jobId, attempt: spec.attempt });
  }

  /**
   * A sandbox for a warm pool: ready like any other, labelled `pool` (its pool's id) instead of a job, so the
   * reaper keeps it while it waits (WarmSandboxPool relabels it for its job when it lends it).
   */
  createPooled(poolId: string, signal: AbortSignal): Promise<DaytonaSandbox> {
    return this.createLabelled({ ...appLabel, pool: poolId }, signal, { pool: poolId });
  }

  private async createLabelled(labels: Record<string, string>, signal: AbortSignal, logFields: Record<string, unknown>): Promise<DaytonaSandbox> {
    throwIfAborted(signal);
    const startedMs = Date.now();
    const creating = this.daytona.create(this.createParams(labels), { timeout: this.opts.createTimeoutSec });
    // The SDK takes no AbortSignal: on abort, answer at once and delete the sandbox once it exists.
    const sdkSandbox = await raceAbort(creating, signal, (late) => this.deleteQuietly(late)).catch((err: unknown) => {
      throw toSandboxError(err, 'create');
    });
    try {
      throwIfAborted(signal);
      const workDir = (await sdkSandbox.getWorkDir()) || (await sdkSandbox.getUserHomeDir());
      if (!workDir) throw new AppError('sandbox_failed', 'Daytona reported no work directory', { retryable: true });
      const prepared = await sdkSandbox.process.executeCommand(prepareCommand(`${workDir.replace(/\/+$/, '')}/${baseDirName}`), undefined, undefined, 60);
      const paths = prepared.exitCode === 0 ? parsePrepared(prepared.result.trim()) : undefined;
      if (paths === undefined) {
        throw new AppError('sandbox_failed', `could not prepare the workspace (exit code ${prepared.exitCode})`, { retryable: true });
      }
      const { workspaceDir, runDir, imagePath } = paths;
      throwIfAborted(signal);
      this.logger.info({ sandboxId: sdkSandbox.id, ...logFields, durationMs: Date.now() - startedMs }, 'daytona sandbox created');
      return new DaytonaSandbox({
        sdkSandbox,
        workspaceDir,
        runDir,
        ...(imagePath === undefined ? {} : { imagePath }),
        logger: this.logger.child({ sandboxId: sdkSandbox.id }),
        maxOutputBytes: this.opts.maxOutputBytes ?? 8 * 1024 * 1024,
        maxFileBytes: this.opts.maxFileBytes ?? 64 * 1024 * 1024,
        killGraceMs: this.opts.killGraceMs ?? 2000,
        requestTimeoutSec: this.opts.requestTimeoutSec ?? 300,
      });
    } catch (err) {
      await this.deleteQuietly(sdkSandbox);
      throw signal.aborted ? abortReason(signal) : toSandboxError(err, 'prepare');
    }
  }

  /** Every sandbox labelled as Tiny Backspace's (all pages); others are never returned. */
  async listOwn(): Promise<OwnSandbox[]> {
    const own: OwnSandbox[] = [];
    try {
      for await (const sb of this.daytona.list({ labels: { ...appLabel } })) {
        // The API filters by label already; checking again costs nothing and guards the reaper.
        if (sb.labels?.['app'] !== appLabel.app) continue;
        const attempt = Number(sb.labels['attempt']);
        const createdAt = sb.createdAt ? new Date(sb.createdAt) : undefined;
        own.push({
          id: sb.id,
          jobId: sb.labels['jobId'] || undefined,
          attempt: Number.isInteger(attempt) ? attempt : undefined,
          pool: sb.labels['pool'] || undefined,
          createdAt: createdAt && !Number.isNaN(createdAt.getTime()) ? createdAt : undefined,
          state: sb.state,
        });
      }
    } catch (err) {
      throw toSandboxError(err, 'list');
    }
    return own;
  }

  /** Deletes one of our sandboxes by id; refuses one without our label; a sandbox already gone is success. */
  async deleteById(id: string): Promise<void> {
    try {
      const sb = await this.daytona.get(id);
      if (sb.labels?.['app'] !== appLabel.app) {
        throw new AppError('sandbox_failed', `refusing to delete sandbox ${id}: it is not labelled app=${appLabel.app}`);
      }
      await sb.delete(this.opts.requestTimeoutSec ?? 300);
    } catch (err) {
      if (isNotFound(err)) return;
      throw toSandboxError(err, 'destroy');
    }
  }

  /** Disposes of the client when the provider built it from a configuration. */
  async close(): Promise<void> {
    if (this.ownsClient) await this.daytona[Symbol.asyncDispose]();
  }

  private createParams(labels: Record<string, string>): CreateSandboxFromSnapshotParams | CreateSandboxFromImageParams {
    const base = {
      labels,
      envVars: {},
      autoStopInterval: this.opts.autoStopIntervalMin,
      autoDeleteInterval: this.opts.autoDeleteIntervalMin,
      // Daytona's allow lists are default-deny by themselves ("Network Limits" in its docs); `networkBlockAll`
      // would cut the sandbox off entirely, model API included, so it is not sent with them.
      ...(this.opts.networkAllowDomains === undefined ? {} : { domainAllowList: this.opts.networkAllowDomains.join(',') }),
    };
    if (this.opts.snapshot !== undefined) return { ...base, snapshot: this.opts.snapshot };
    const { resources } = this.opts;
    return {
      ...base,
      image: this.opts.image,
      ...(resources === undefined ? {} : { resources: { cpu: resources.cpu, memory: resources.memoryGiB, disk: resources.diskGiB } }),
    };
  }

  private async deleteQuietly(sb: SdkSandbox): Promise<void> {
    try {
      await sb.delete(60);
    } catch (err) {
      if (!isNotFound(err)) this.logger.warn({ err: toSandboxError(err, 'destroy'), sandboxId: sb.id }, 'could not delete an abandoned sandbox');
    }
  }
}

/** Resolves like `work` unless `signal` aborts first; a result arriving after the abort goes to `late`. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal, late: (value: T) => Promise<void>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (aborted) void late(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
