import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Test helpers for the git-host integration tests: git and tar on the host, to check what the fake GitHub
 * holds and what a checkout contains. Not a test itself (no `.test.` in the name), and not exported.
 */

export interface GitOutput {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface GitOptions {
  cwd?: string;
  /** Sent as `http.extraHeader`, e.g. `basicAuthHeader(token)`. */
  extraHeader?: string;
}

/** git for assertions: no user config and none of a surrounding hook's GIT_* variables. */
export function git(args: string[], opts: GitOptions = {}): Promise<GitOutput> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('GIT_')) env[key] = value;
  Object.assign(env, { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' });
  const fullArgs = opts.extraHeader === undefined ? args : ['-c', `http.extraHeader=${opts.extraHeader}`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn('git', fullArgs, { cwd: opts.cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** git that must succeed: its trimmed stdout. */
export async function gitOk(args: string[], opts: GitOptions = {}): Promise<string> {
  const out = await git(args, opts);
  if (out.code !== 0) throw new Error(`git ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout.trim();
}

export function extractTar(archive: Uint8Array, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('tar', ['-x', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -x failed: ${stderr}`))));
    child.stdin.end(archive);
  });
}

/** The Basic credentials git sends for an installation or personal token, base64: what must never leak. */
export const accessTokenBasic = (token: string): string => Buffer.from(`x-access-token:${token}`).toString('base64');

export const basicAuthHeader = (token: string): string => `Authorization: Basic ${accessTokenBasic(token)}`;

/**
 * Runs `fn` with the system temp directory (`os.tmpdir()`) answering a fresh directory of its own, and returns
 * what is left in it afterwards: a test of "no temporary directory left behind" then looks at its own directory,
 * not at the shared one, where another test or process may be making or removing checkouts meanwhile.
 * (`os.tmpdir` is replaced, not TMPDIR: jest gives a test a copy of `process.env`, which `os` never reads.)
 */
export async function leftInPrivateTmpdir(fn: () => Promise<void>): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tinyb-git-host-test-'));
  const tmpdir = jest.spyOn(os, 'tmpdir').mockReturnValue(dir);
  try {
    await fn();
    return await readdir(dir);
  } finally {
    tmpdir.mockRestore();
    await rm(dir, { recursive: true, force: true });
  }
}
