import type { FileChange } from '@tinyb/contracts';
import { AppError } from '../errors.js';
import type { ChangedFile } from '../ports/git-host.js';
import type { Sandbox } from '../ports/sandbox.js';

export interface ChangeLimits {
  maxFiles: number;
  maxTotalBytes: number;
  commandTimeoutMs: number;
}

const CHANGE_KIND: Record<string, FileChange['change'] | undefined> = { A: 'added', M: 'modified', T: 'modified', D: 'deleted' };
const SUPPORTED_MODES: readonly string[] = ['100644', '100755', '120000'] satisfies ChangedFile['mode'][];
const isSupportedMode = (mode: string): mode is ChangedFile['mode'] => SUPPORTED_MODES.includes(mode);

/**
 * Reads what the agent changed, relative to the pinned base commit, out of the sandbox: paths and git
 * modes from git itself (so the exec bit and symlinks survive), contents through `Sandbox.readFile`
 * (which refuses anything leading outside the workspace). Whatever the agent did to the history
 * (commits, resets) does not matter: only the final tree is compared with the base.
 */
export async function readChanges(
  sandbox: Sandbox,
  repoDir: string,
  baseSha: string,
  limits: ChangeLimits,
  signal: AbortSignal,
): Promise<ChangedFile[]> {
  const git = async (args: string[]) => {
    const r = await sandbox.exec(['git', '-c', 'core.quotepath=off', ...args], {
      cwd: repoDir,
      timeoutMs: limits.commandTimeoutMs,
      signal,
    });
    if (r.exitCode !== 0 || r.timedOut) {
      throw new AppError('sandbox_failed', `git ${args[0]} failed in the sandbox: ${r.stderr.trim().slice(0, 500)}`);
    }
    return r.stdout;
  };

  await git(['add', '--all']);
  const nameStatus = (await git(['diff', '--cached', '--name-status', '--no-renames', '-z', baseSha])).split('\0');
  const changes: FileChange[] = [];
  for (let i = 0; i + 1 < nameStatus.length; i += 2) {
    const change = CHANGE_KIND[nameStatus[i]!];
    const path = nameStatus[i + 1]!;
    if (!change) throw new AppError('sandbox_failed', `unexpected change status '${nameStatus[i]}' for ${path}`);
    changes.push({ path, change });
  }
  if (changes.length > limits.maxFiles) {
    throw new AppError('agent_failed', `the agent changed ${changes.length} files, more than the limit of ${limits.maxFiles}`);
  }
  if (changes.length === 0) return [];

  const kept = changes.filter((c) => c.change !== 'deleted').map((c) => c.path);
  const entries = new Map<string, { mode: string; sha: string }>();
  if (kept.length > 0) {
    for (const line of (await git(['ls-files', '--stage', '-z', '--', ...kept])).split('\0')) {
      const match = /^(\d{6}) ([0-9a-f]{40,64}) \d\t(.*)$/s.exec(line);
      if (match) entries.set(match[3]!, { mode: match[1]!, sha: match[2]! });
    }
  }

  let totalBytes = 0;
  const files: ChangedFile[] = [];
  for (const change of changes) {
    if (change.change === 'deleted') {
      files.push({ ...change, mode: '100644' });
      continue;
    }
    const entry = entries.get(change.path);
    if (!entry) throw new AppError('sandbox_failed', `no index entry for changed file ${change.path}`);
    const { mode } = entry;
    if (!isSupportedMode(mode)) {
      throw new AppError('agent_failed', `unsupported file type (git mode ${mode}) at ${change.path}`);
    }
    // A symlink's content is its target, which git already holds; reading it through the link would follow it.
    const content =
      mode === '120000'
        ? new TextEncoder().encode(await git(['cat-file', 'blob', entry.sha]))
        : await sandbox.readFile(`${repoDir}/${change.path}`);
    totalBytes += content.byteLength;
    if (totalBytes > limits.maxTotalBytes) {
      throw new AppError('agent_failed', `the changes exceed the limit of ${limits.maxTotalBytes} bytes`);
    }
    files.push({ ...change, mode, content });
  }
  return files;
}

/** Whether the checkout's tree differs from the base commit (whatever the agent did to the history). */
export async function hasChanges(sandbox: Sandbox, repoDir: string, baseSha: string, limits: ChangeLimits, signal: AbortSignal): Promise<boolean> {
  const git = (args: string[]) => sandbox.exec(['git', ...args], { cwd: repoDir, timeoutMs: limits.commandTimeoutMs, signal });
  const added = await git(['add', '--all']);
  const diff = added.exitCode === 0 && !added.timedOut ? await git(['diff', '--cached', '--quiet', baseSha]) : added;
  // --quiet: 0 for no difference, 1 for a difference; anything else is git failing.
  if (diff.timedOut || (diff.exitCode !== 0 && diff.exitCode !== 1)) {
    throw new AppError('sandbox_failed', `git failed in the sandbox: ${diff.stderr.trim().slice(0, 500)}`);
  }
  return diff.exitCode === 1;
}
