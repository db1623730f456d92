import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * `rm -rf` that also copes with what an agent can leave behind when the worker is not root: directories
 * made read-only or unsearchable (`chmod 0`) stop a plain recursive rm, so on EACCES/EPERM every directory
 * is made writable again (without following symlinks) and the removal retried.
 */
export async function removeTree(dir: string): Promise<void> {
  try {
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw err;
  }
  await makeWritable(dir);
  await fs.rm(dir, { recursive: true, force: true, maxRetries: 2 });
}

async function makeWritable(dir: string): Promise<void> {
  const stat = await fs.lstat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) return;
  await fs.chmod(dir, 0o700).catch(() => undefined);
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
  }
}
