import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, type RepoCoordinates } from '@tinyb/core';
import { redactSecrets } from './redact-secrets.js';
import { runCommand } from './run-command.js';

/** Variables that would point git at some other repository (set, for example, when running inside a git hook). */
const INHERITED_GIT_VARS = ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR', 'GIT_PREFIX', 'GIT_NAMESPACE'];

/**
 * Shallow-clones one branch on the host and returns it as a tar of the checkout, `.git` included.
 * The token reaches git only through GIT_CONFIG_* environment variables (an `http.extraHeader`), never
 * argv (visible in `ps`) or the remote URL (which git writes to `.git/config`), so the archive holds no
 * credential. The temporary directory is removed whatever happens.
 */
export async function downloadCheckout(opts: CheckoutSource): Promise<{ sha: string; archive: Uint8Array }> {
  let archive: Uint8Array | undefined;
  const { sha } = await cloneAndArchive(opts, async (dir, env) => {
    const tar = await runCommand('tar', ['-c', '-C', dir, '.'], { env, signal: opts.signal });
    if (tar.exitCode !== 0) throw new AppError('clone_failed', `could not archive the checkout: ${tar.stderr.trim()}`, { retryable: true });
    archive = new Uint8Array(tar.stdout.buffer, tar.stdout.byteOffset, tar.stdout.byteLength);
  });
  return { sha, archive: archive ?? new Uint8Array() };
}

/**
 * The same checkout, archived straight into `file` on the worker's disk (tar writes it; nothing passes through
 * memory), for a checkout cache or a streamed hand-over. Same credential handling as downloadCheckout.
 */
export async function downloadCheckoutToFile(opts: CheckoutSource & { file: string }): Promise<{ sha: string }> {
  return cloneAndArchive(opts, async (dir, env) => {
    const tar = await runCommand('tar', ['-c', '-f', opts.file, '-C', dir, '.'], { env, signal: opts.signal });
    if (tar.exitCode !== 0) throw new AppError('clone_failed', `could not archive the checkout: ${tar.stderr.trim()}`, { retryable: true });
  });
}

export interface CheckoutSource {
  gitUrl: string;
  token: string;
  repo: RepoCoordinates;
  branch: string;
  signal: AbortSignal;
}

async function cloneAndArchive(opts: CheckoutSource, archive: (dir: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<{ sha: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyb-checkout-'));
  try {
    const remote = `${opts.gitUrl.replace(/\/+$/, '')}/${encodeURIComponent(opts.repo.owner)}/${encodeURIComponent(opts.repo.name)}.git`;
    const env = cloneEnv(opts.token);
    const clone = await runCommand(
      'git',
      ['clone', '--quiet', '--depth', '1', '--single-branch', '--branch', opts.branch, '--no-tags', '--', remote, dir],
      { env, signal: opts.signal },
    );
    if (clone.exitCode !== 0) throw cloneError(clone.stderr, opts.branch, opts.token);

    const head = await runCommand('git', ['rev-parse', 'HEAD'], { cwd: dir, env, signal: opts.signal });
    const sha = head.stdout.toString('utf8').trim();
    if (head.exitCode !== 0 || !/^[0-9a-f]{40,64}$/.test(sha)) {
      throw new AppError('clone_failed', `could not read the cloned HEAD: ${redactSecrets(head.stderr.trim(), [opts.token])}`, { retryable: true });
    }
    await archive(dir, env);
    return { sha };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function cloneEnv(token: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of INHERITED_GIT_VARS) delete env[name];
  return {
    ...env,
    // Fail instead of waiting on a prompt nobody will answer; the C locale keeps git's messages matchable.
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    LC_ALL: 'C',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraHeader',
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`,
  };
}

/** Classifies git's complaint (in the C locale) into the project's codes. */
function cloneError(stderr: string, branch: string, token: string): AppError {
  const detail = redactSecrets(stderr.trim().split('\n').slice(-3).join(' | '), [token]);
  if (/Remote branch .* not found in upstream/i.test(stderr)) {
    return new AppError('branch_not_found', `branch ${branch} does not exist: ${detail}`);
  }
  if (/repository .* not found|Repository not found|error: 404|HTTP 404/i.test(stderr)) {
    return new AppError('repo_not_found', `repository not found: ${detail}`);
  }
  if (/Authentication failed|could not read (Username|Password)|terminal prompts disabled|error: 40[13]|HTTP 40[13]/i.test(stderr)) {
    return new AppError('repo_access_denied', `access to the repository was denied: ${detail}`);
  }
  return new AppError('clone_failed', `git clone failed: ${detail}`, { retryable: true });
}
