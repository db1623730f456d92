import { AppError } from '@tinyb/core';
import { shellJoin, shellQuote } from './shell-quote.js';

/**
 * The shell snippets the Daytona sandbox runs, kept apart from the I/O so they can be read and unit-tested.
 * Every script is a fixed string passed to `/bin/sh -c` with its data as positional arguments, so no
 * caller-supplied text is ever parsed as shell code, and the same command works whether Daytona's daemon
 * runs it through a shell or splits it into words itself.
 */

/**
 * Where `env` and `setsid` are found before a command's own environment is loaded, and the command's PATH when
 * the image reports none. Commands otherwise run with the image's own PATH (its `ENV PATH`, read once when the
 * sandbox is prepared), so the image's `claude` and `gemini` are found wherever the image installed them.
 */
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export NAME='value'` lines for the env file the command sources; names are checked, values quoted. */
export function envFileContent(env: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name)) throw new AppError('sandbox_failed', `invalid environment variable name: ${JSON.stringify(name.slice(0, 64))}`);
    out += `export ${name}=${shellQuote(value)}\n`;
  }
  return out;
}

// $1 env file, $2 cwd, $3 pid file, then argv. The process (already a new session and process group
// leader thanks to setsid) records its pid, which is its group id, so a timeout or abort can kill the group
// and everything the command started; it reads and deletes the env file before the command runs; stdin is
// /dev/null because a session's stdin stays open and a CLI reading it would wait forever.
const runScript = [
  'echo $$ > "$3" || exit 125',
  'set -a',
  '. "$1" || exit 125',
  'set +a',
  'rm -f -- "$1"',
  'cd -- "$2" || exit 126',
  'shift 3',
  'exec "$@" < /dev/null',
].join('\n');

/**
 * The session command for one exec. `env -i` starts from an empty environment (the sandbox's own variables
 * do not leak in either); the values come from the env file, never from this string, because Daytona keeps
 * session commands in its records and API (`getSession`) and the env holds model API keys.
 */
export function sessionCommand(opts: { envFile: string; cwd: string; pidFile: string; argv: readonly string[] }): string {
  return shellJoin(['env', '-i', `PATH=${defaultPath}`, 'setsid', '-w', '/bin/sh', '-c', runScript, 'sh', opts.envFile, opts.cwd, opts.pidFile, ...opts.argv]);
}

// $1 pid file, $2 grace in tenths of a second. Waits briefly for the pid file (an abort can race the
// command's start), sends TERM to the group, then KILL to whatever is left after the grace.
const killScript = [
  'i=0',
  'while [ ! -s "$1" ] && [ "$i" -lt 20 ]; do sleep 0.1; i=$((i+1)); done',
  '[ -s "$1" ] || exit 0',
  'pg=$(cat -- "$1")',
  'kill -s TERM -- "-$pg" 2>/dev/null || exit 0',
  'i=0',
  'while kill -s 0 -- "-$pg" 2>/dev/null && [ "$i" -lt "$2" ]; do sleep 0.1; i=$((i+1)); done',
  'kill -s KILL -- "-$pg" 2>/dev/null',
  'exit 0',
].join('\n');

export function killCommand(pidFile: string, graceMs: number): string {
  return shellJoin(['/bin/sh', '-c', killScript, 'sh', pidFile, String(Math.max(1, Math.ceil(graceMs / 100)))]);
}

/** Exit codes of the path check, and what each means to the caller. */
export const pathCheckExit = { outside: 4, notRegularFile: 5, tooLarge: 6, cannotCreate: 7 } as const;

// $1 path, $2 real workspace dir, $3 read|write, $4 max bytes (read). Resolves every symlink of the path
// (missing components allowed), refuses anything that lands outside the workspace, and prints the resolved
// path: the file API is then given that path, so a link swapped in after the check can only redirect the
// transfer inside the workspace's own tree up to that moment. For writes it creates the parent directories.
const pathScript = [
  'exec 2>/dev/null',
  'p=$(realpath -m -- "$1") || exit 4',
  'case "$p" in "$2"/*) ;; *) exit 4;; esac',
  'if [ "$3" = read ]; then',
  '  [ -f "$p" ] || exit 5',
  '  s=$(stat -c %s -- "$p") || exit 5',
  '  [ "$s" -le "$4" ] || exit 6',
  'else',
  '  [ ! -d "$p" ] || exit 5',
  '  mkdir -p -- "$(dirname -- "$p")" || exit 7',
  '  q=$(realpath -e -- "$(dirname -- "$p")") || exit 7',
  '  case "$q/" in "$2"/*) ;; *) exit 4;; esac',
  'fi',
  'printf "%s" "$p"',
].join('\n');

export function pathCheckCommand(opts: { path: string; workspaceDir: string; mode: 'read' | 'write'; maxBytes: number }): string {
  return shellJoin(['/bin/sh', '-c', pathScript, 'sh', opts.path, opts.workspaceDir, opts.mode, String(opts.maxBytes)]);
}

// $1 base dir. Creates the job's workspace and a private run dir (env and pid files) next to it, and prints
// both real paths so the workspace path matches what `pwd` reports inside, then the image's PATH: this command
// runs with the sandbox's own environment (no login shell, no profile), which is the image's.
const prepareScript = [
  'set -e',
  'mkdir -p -- "$1/workspace" "$1/run"',
  'chmod 700 -- "$1/run"',
  'realpath -e -- "$1/workspace"',
  'realpath -e -- "$1/run"',
  'printf "%s\\n" "${PATH:-}"',
].join('\n');

export function prepareCommand(baseDir: string): string {
  return shellJoin(['/bin/sh', '-c', prepareScript, 'sh', baseDir]);
}

/** What `prepareCommand` printed: the two real paths, and the image's PATH (undefined when it has none). */
export function parsePrepared(output: string): { workspaceDir: string; runDir: string; imagePath: string | undefined } | undefined {
  const [workspaceDir, runDir, imagePath] = output.replace(/\r/g, '').split('\n');
  if (!workspaceDir?.startsWith('/') || !runDir?.startsWith('/')) return undefined;
  return { workspaceDir, runDir, imagePath: imagePath?.trim() ? imagePath.trim() : undefined };
}
