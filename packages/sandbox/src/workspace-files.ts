import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@tinyb/core';

export interface WorkspaceFilesOptions {
  /** The real path (no symlinks) of the job's host directory. */
  hostDir: string;
  /** The same directory as commands see it. */
  workspaceDir: string;
  /** readFile refuses bigger files instead of filling the worker's memory. */
  maxFileBytes: number;
}

/**
 * The worker's reads and writes of the workspace. The agent controls what is in it and the worker may run
 * as root, so a planted symlink (`link -> /etc/shadow`, `dir -> /etc`) must never be followed out of it:
 * every path is resolved on the host and checked, the file is opened without following a final symlink and
 * without blocking on a FIFO, and the opened descriptor's own path is checked again, which closes the race
 * of a directory being swapped for a symlink between the check and the open.
 */
export class WorkspaceFiles {
  constructor(private readonly opts: WorkspaceFilesOptions) {}

  async read(sandboxPath: string): Promise<Uint8Array> {
    const hostPath = this.toHostPath(sandboxPath);
    const realPath = await this.guard(sandboxPath, () => fs.realpath(hostPath));
    this.assertInside(sandboxPath, realPath);
    const handle = await this.guard(sandboxPath, () =>
      fs.open(realPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK),
    );
    try {
      await this.assertHandleInside(sandboxPath, handle.fd);
      const stat = await handle.stat();
      if (!stat.isFile()) throw refused(sandboxPath, 'not a regular file');
      if (stat.size > this.opts.maxFileBytes) {
        throw refused(sandboxPath, `larger than the ${this.opts.maxFileBytes}-byte limit`);
      }
      return new Uint8Array(await handle.readFile());
    } finally {
      await handle.close();
    }
  }

  /** `data` may come in chunks (an archive streamed from the worker's disk): it is written as it comes. */
  async write(sandboxPath: string, data: Uint8Array | string | AsyncIterable<Uint8Array>): Promise<void> {
    const hostPath = this.toHostPath(sandboxPath);
    const relative = path.relative(this.opts.hostDir, hostPath);
    if (relative === '') throw refused(sandboxPath, 'is the workspace itself');
    const parts = relative.split(path.sep);
    const name = parts.pop() as string;

    // mkdir -p by hand: each level is created (mkdir never follows a final symlink) and then resolved and checked.
    let dir = this.opts.hostDir;
    for (const part of parts) {
      const next = path.join(dir, part);
      await fs.mkdir(next, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw failed(sandboxPath, err);
      });
      dir = await this.guard(sandboxPath, () => fs.realpath(next));
      this.assertInside(sandboxPath, dir);
    }

    // No O_TRUNC: nothing is changed until the opened file is known to be inside and a regular file.
    const handle = await this.guard(sandboxPath, () =>
      fs.open(path.join(dir, name), constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, 0o644),
    );
    try {
      await this.assertHandleInside(sandboxPath, handle.fd);
      if (!(await handle.stat()).isFile()) throw refused(sandboxPath, 'not a regular file');
      await handle.truncate(0);
      if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
      else await writeChunks(handle, data);
    } finally {
      await handle.close();
    }
  }

  /** Sandbox path (absolute, or relative to the workspace) to the host path, refusing anything outside the workspace. */
  private toHostPath(sandboxPath: string): string {
    const { workspaceDir, hostDir } = this.opts;
    const normalized = path.posix.resolve(workspaceDir, sandboxPath);
    if (normalized !== workspaceDir && !normalized.startsWith(`${workspaceDir}/`)) {
      throw refused(sandboxPath, `outside the workspace ${workspaceDir}`);
    }
    return path.join(hostDir, normalized.slice(workspaceDir.length));
  }

  private assertInside(sandboxPath: string, realPath: string): void {
    const { hostDir } = this.opts;
    if (realPath !== hostDir && !realPath.startsWith(`${hostDir}${path.sep}`)) {
      throw refused(sandboxPath, 'resolves outside the workspace');
    }
  }

  private async assertHandleInside(sandboxPath: string, fd: number): Promise<void> {
    this.assertInside(sandboxPath, await fs.readlink(`/proc/self/fd/${fd}`));
  }

  private async guard<T>(sandboxPath: string, op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw failed(sandboxPath, err);
    }
  }
}

async function writeChunks(handle: fs.FileHandle, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    // A write may take part of a chunk; the rest follows at the file's position.
    for (let offset = 0; offset < chunk.byteLength; ) offset += (await handle.write(chunk, offset)).bytesWritten;
  }
}

function refused(sandboxPath: string, why: string): AppError {
  return new AppError('sandbox_failed', `refused to access ${sandboxPath}: ${why}`);
}

function failed(sandboxPath: string, err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  // ELOOP comes from O_NOFOLLOW meeting a symlink as the last component.
  const why = code === 'ELOOP' ? 'is a symlink' : err instanceof Error ? err.message : String(err);
  return new AppError('sandbox_failed', `cannot access ${sandboxPath}: ${why}`, { cause: err });
}
