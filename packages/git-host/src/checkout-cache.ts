import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, throwIfAborted, type CheckoutLease, type RepoCoordinates } from '@tinyb/core';

/** Where checkouts come from: resolve a branch to its commit, and archive a branch into a file. */
export interface CheckoutArchiver {
  resolveBranch(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<string>;
  archiveTo(repo: RepoCoordinates, branch: string, file: string, signal: AbortSignal): Promise<{ sha: string }>;
}

export interface CheckoutCacheOptions {
  /** Where archives are kept; archives left there by an earlier process are removed at the first open. */
  dir: string;
  /** Archives kept, in bytes; the least recently used unleased ones go first. 0: nothing is kept (each lease has its own file). */
  maxBytes: number;
}

const ARCHIVE_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tar$/;

interface Entry {
  file: string;
  sha: string;
  bytes: number;
  leases: number;
  lastUsed: number;
  /** Evicted while leased: deleted when the last lease goes. */
  doomed: boolean;
}

/**
 * A per-worker cache of checkout archives by repository and commit. A job asks for a branch: the branch is
 * resolved to its commit (one API call), and an archive of that commit already on disk is lent as it is, with
 * no download. Otherwise the branch is cloned and archived into the cache once, however many jobs ask at the
 * same moment. Archives are read-only and each job extracts its own copy, so no writable directory is ever
 * shared. Bounded by bytes, least recently used first; an archive being read is never deleted under its
 * reader. A checkout of a private repository is only ever lent to jobs this worker already authorised for
 * that repository (the resolve goes through the same credentials).
 */
export class CheckoutCache {
  private readonly entries = new Map<string, Entry>();
  private readonly filling = new Map<string, Promise<Entry>>();
  private ready: Promise<void> | undefined;
  private totalBytes = 0;

  constructor(private readonly opts: CheckoutCacheOptions) {}

  /** Bytes of archives kept (leased or not), for logs and tests. */
  get sizeBytes(): number {
    return this.totalBytes;
  }

  async open(source: CheckoutArchiver, repo: RepoCoordinates, branch: string, signal: AbortSignal, joinedFailed = false): Promise<CheckoutLease> {
    await (this.ready ??= this.prepare());
    // A 404 on the ref may be the repository's (or access) rather than the branch's: the clone below tells which,
    // with the codes downloadCheckout gives.
    const resolved = await source.resolveBranch(repo, branch, signal).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'branch_not_found') return undefined;
      throw err;
    });
    const key = cacheKey(repo, resolved ?? `unresolved:${branch}`);
    const hit = this.entries.get(key);
    if (hit !== undefined) return this.lend(hit, true);
    let fill = this.filling.get(key);
    const filledHere = fill === undefined;
    if (fill === undefined) {
      fill = this.fill(source, repo, branch, signal).finally(() => this.filling.delete(key));
      this.filling.set(key, fill);
    }
    let entry: Entry;
    try {
      entry = await fill;
    } catch (err) {
      // Another job's download failed (its cancellation, say, aborts the clone it started): this job tries its
      // own, once, rather than failing for a reason that is not its own.
      if (filledHere || joinedFailed || signal.aborted) throw err;
      return this.open(source, repo, branch, signal, true);
    }
    throwIfAborted(signal);
    // The branch may have moved between the resolve and the clone: the archive is then of the newer commit, kept
    // under that commit's key, and is what the job gets (it reports the sha it really has).
    return this.lend(entry, !filledHere);
  }

  /** Only archives of ours are removed (an operator's directory may hold other things). */
  private async prepare(): Promise<void> {
    await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.opts.dir)) {
      if (ARCHIVE_NAME.test(name)) await rm(path.join(this.opts.dir, name), { force: true });
    }
  }

  private async fill(source: CheckoutArchiver, repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<Entry> {
    const file = path.join(this.opts.dir, `${randomUUID()}.tar`);
    try {
      const { sha } = await source.archiveTo(repo, branch, file, signal);
      const bytes = (await stat(file)).size;
      const actualKey = cacheKey(repo, sha);
      const existing = this.entries.get(actualKey);
      if (existing !== undefined) {
        await rm(file, { force: true });
        return existing;
      }
      const entry: Entry = { file, sha, bytes, leases: 0, lastUsed: Date.now(), doomed: false };
      this.entries.set(actualKey, entry);
      this.totalBytes += bytes;
      return entry;
    } catch (err) {
      await rm(file, { force: true });
      throw err;
    }
  }

  private lend(entry: Entry, cached: boolean): CheckoutLease {
    entry.leases += 1;
    entry.lastUsed = Date.now();
    let released = false;
    const lease: CheckoutLease = {
      sha: entry.sha,
      bytes: entry.bytes,
      cached,
      chunks: () => readChunks(entry.file),
      release: () => {
        if (released) return;
        released = true;
        entry.leases -= 1;
        if (entry.doomed && entry.leases === 0) void rm(entry.file, { force: true });
        this.evict();
      },
    };
    // Over the bound now (a fill just landed): older unleased archives go; this one is leased and stays.
    this.evict();
    return lease;
  }

  /** Drops least recently used archives until the total fits; leased ones are doomed, deleted on their last release. */
  private evict(): void {
    if (this.totalBytes <= this.opts.maxBytes) return;
    const byAge = [...this.entries].sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
    for (const [key, entry] of byAge) {
      if (this.totalBytes <= this.opts.maxBytes) return;
      this.entries.delete(key);
      this.totalBytes -= entry.bytes;
      if (entry.leases === 0) void rm(entry.file, { force: true });
      else entry.doomed = true;
    }
  }
}

/** A cache in a fresh temporary directory, the worker's default. */
export async function temporaryCheckoutCache(maxBytes: number): Promise<CheckoutCache> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyb-checkout-cache-'));
  return new CheckoutCache({ dir, maxBytes });
}

function cacheKey(repo: RepoCoordinates, sha: string): string {
  return createHash('sha256').update(`${repo.owner}\0${repo.name}\0${sha}`).digest('hex');
}

async function* readChunks(file: string): AsyncIterable<Uint8Array> {
  const stream = createReadStream(file, { highWaterMark: 1 << 20 });
  try {
    for await (const chunk of stream) {
      if (!(chunk instanceof Uint8Array)) throw new AppError('internal', 'checkout archive read returned text');
      yield chunk;
    }
  } finally {
    stream.destroy();
  }
}
