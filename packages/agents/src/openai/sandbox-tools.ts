import type { Sandbox } from '@tinyb/core';
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { repoRelativePath } from '../repo-relative-path.js';
import { truncateText } from '../truncate-text.js';
import { applyExactEdit } from './apply-exact-edit.js';
import { resolveInWorkdir } from './resolve-in-workdir.js';

/**
 * Bounds on what one tool call sends back to the model: enough to work with, small enough that a `cat` of a
 * log or a `find /` cannot fill the context window (and the bill) in one step.
 */
export const TOOL_LIMITS = {
  listMaxEntries: 500,
  listDefaultDepth: 3,
  listMaxDepth: 10,
  readDefaultLines: 2000,
  readMaxChars: 50_000,
  searchMaxLines: 200,
  searchMaxLineChars: 300,
  commandOutputMaxChars: 20_000,
  /** For the helper commands (find, grep) the tools run themselves. */
  helperTimeoutMs: 30_000,
} as const;

export interface ToolOutcome {
  /** False for anything the model should treat as a failure: a refused path, a failing command, bad arguments. */
  ok: boolean;
  output: string;
}

export interface SandboxToolContext {
  sandbox: Sandbox;
  /** The checkout; every path is resolved against it and confined to it. */
  workdir: string;
  /** The whole environment of `run_command` (the sandbox adds PATH): nothing of the worker's. */
  env: Record<string, string>;
  /** Per `run_command` call. */
  commandTimeoutMs: number;
  /** Aborting kills a running command; exec then rejects and so does the tool. */
  signal: AbortSignal;
}

/** What the model is offered. Descriptions are terse on purpose: small local models follow short ones better. */
export const SANDBOX_TOOL_DEFINITIONS: ChatCompletionFunctionTool[] = [
  fn('list_files', 'List files and directories (directories end with /) below a path of the repository, skipping .git and node_modules.', {
    path: { type: 'string', description: 'Directory relative to the repository root; default the root.' },
    depth: { type: 'integer', description: `How many levels deep to list, 1-${TOOL_LIMITS.listMaxDepth}; default ${TOOL_LIMITS.listDefaultDepth}.` },
  }),
  fn('read_file', 'Read a text file of the repository.', {
    path: { type: 'string', description: 'File path relative to the repository root.' },
    offset: { type: 'integer', description: 'First line to read, counting from 1; default 1.' },
    limit: { type: 'integer', description: `How many lines to read; default ${TOOL_LIMITS.readDefaultLines}.` },
  }, ['path']),
  fn('write_file', 'Create a file, or replace its whole content. Parent directories are created.', {
    path: { type: 'string', description: 'File path relative to the repository root.' },
    content: { type: 'string', description: 'The complete new content of the file.' },
  }, ['path', 'content']),
  fn('edit_file', 'Replace one exact piece of text in a file. old_text must occur exactly once in the file.', {
    path: { type: 'string', description: 'File path relative to the repository root.' },
    old_text: { type: 'string', description: 'The text to replace, copied exactly (whitespace included), with enough context to be unique.' },
    new_text: { type: 'string', description: 'The replacement text.' },
  }, ['path', 'old_text', 'new_text']),
  fn('search_text', 'Search the files of the repository for a regular expression (grep -E); shows matching lines with file and line number.', {
    pattern: { type: 'string', description: 'Extended regular expression.' },
    path: { type: 'string', description: 'File or directory to search, relative to the repository root; default the root.' },
  }, ['pattern']),
  fn('run_command', 'Run a shell command (sh -c) in the repository root, e.g. to run tests, delete or move files. No input; long commands are killed.', {
    command: { type: 'string', description: 'The shell command.' },
  }, ['command']),
];

// Models in strict or "JSON mode" send null for arguments they leave out, so null counts as absent.
const optional = <T extends z.ZodType>(t: T) => t.nullish().transform((v) => v ?? undefined);
const ToolArgs = {
  list_files: z.object({ path: optional(z.string()), depth: optional(z.coerce.number().int().min(1).max(TOOL_LIMITS.listMaxDepth)) }),
  read_file: z.object({ path: z.string(), offset: optional(z.coerce.number().int().min(1)), limit: optional(z.coerce.number().int().min(1)) }),
  write_file: z.object({ path: z.string(), content: z.string() }),
  edit_file: z.object({ path: z.string(), old_text: z.string(), new_text: z.string() }),
  search_text: z.object({ pattern: z.string().min(1), path: optional(z.string()) }),
  run_command: z.object({ command: z.string().min(1) }),
};
type ToolName = keyof typeof ToolArgs;

/**
 * Runs one tool call. Everything the model got wrong (unknown tool, bad arguments, a path outside the checkout,
 * a missing file, a failing command) comes back as `ok: false` for the model to read; it rejects only when
 * the run must stop: the signal aborted, or the sandbox itself failed under exec.
 */
export async function runSandboxTool(name: string, args: unknown, ctx: SandboxToolContext): Promise<ToolOutcome> {
  if (!Object.hasOwn(ToolArgs, name)) {
    return fail(`unknown tool ${JSON.stringify(name)}; the tools are ${Object.keys(ToolArgs).join(', ')}`);
  }
  if (args === undefined) return fail('the arguments were not valid JSON (was the response cut off?)');
  const tool = name as ToolName;
  const parsed = ToolArgs[tool].safeParse(args);
  if (!parsed.success) {
    return fail(`invalid arguments for ${tool}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(arguments)'}: ${i.message}`).join('; ')}`);
  }
  switch (tool) {
    case 'list_files':
      return listFiles(ToolArgs.list_files.parse(args), ctx);
    case 'read_file':
      return readFile(ToolArgs.read_file.parse(args), ctx);
    case 'write_file':
      return writeFile(ToolArgs.write_file.parse(args), ctx);
    case 'edit_file':
      return editFile(ToolArgs.edit_file.parse(args), ctx);
    case 'search_text':
      return searchText(ToolArgs.search_text.parse(args), ctx);
    case 'run_command':
      return runCommand(ToolArgs.run_command.parse(args), ctx);
  }
}

async function listFiles(args: z.infer<typeof ToolArgs.list_files>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const where = resolveInWorkdir(ctx.workdir, args.path);
  if (!where.ok) return fail(where.error);
  const rel = relativeArg(ctx.workdir, where.path);
  const depth = args.depth ?? TOOL_LIMITS.listDefaultDepth;
  // POSIX find only (no -printf), so it works on busybox images too; directories get their slash from printf.
  const argv = ['find', rel, '-mindepth', '1', '-maxdepth', String(depth), '(', '-name', '.git', '-o', '-name', 'node_modules', ')', '-prune', '-o', '-type', 'd', '-exec', 'printf', '%s/\\n', '{}', '+', '-o', '-print'];
  const r = await ctx.sandbox.exec(argv, { cwd: ctx.workdir, timeoutMs: TOOL_LIMITS.helperTimeoutMs, signal: ctx.signal });
  if (r.exitCode !== 0 && r.stdout === '') return fail(`cannot list ${rel}: ${firstLine(r.stderr) || `exit code ${r.exitCode}`}`);
  const entries = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(stripDotSlash)
    .sort();
  if (entries.length === 0) return ok(`nothing to list: ${rel} is empty or not a directory`);
  const shown = entries.slice(0, TOOL_LIMITS.listMaxEntries);
  const more = entries.length - shown.length;
  return ok(shown.join('\n') + (more > 0 ? `\n[${more} more entries not shown; list a subdirectory or use a smaller depth]` : ''));
}

async function readFile(args: z.infer<typeof ToolArgs.read_file>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const where = resolveInWorkdir(ctx.workdir, args.path);
  if (!where.ok) return fail(where.error);
  const rel = relativeArg(ctx.workdir, where.path);
  let bytes: Uint8Array;
  try {
    bytes = await ctx.sandbox.readFile(where.path);
  } catch (err) {
    return fail(fileError('read', rel, err, ctx.workdir));
  }
  if (bytes.length === 0) return ok('(empty file)');
  if (bytes.subarray(0, 8192).includes(0)) return ok(`(binary file, ${bytes.length} bytes, not shown)`);
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const start = (args.offset ?? 1) - 1;
  if (start >= lines.length) return fail(`offset ${start + 1} is past the end of ${rel} (${lines.length} lines)`);
  let end = Math.min(lines.length, start + (args.limit ?? TOOL_LIMITS.readDefaultLines));
  let text = '';
  for (let i = start; i < end; i++) {
    const line = `${lines[i]}\n`;
    if (text.length + line.length > TOOL_LIMITS.readMaxChars && i > start) {
      end = i;
      break;
    }
    text += line;
  }
  if (start === 0 && end === lines.length) return ok(text);
  return ok(`${truncateText(text, TOOL_LIMITS.readMaxChars)}[lines ${start + 1}-${end} of ${lines.length}${end < lines.length ? `; read on with offset ${end + 1}` : ''}]`);
}

async function writeFile(args: z.infer<typeof ToolArgs.write_file>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const where = resolveInWorkdir(ctx.workdir, args.path);
  if (!where.ok) return fail(where.error);
  const rel = relativeArg(ctx.workdir, where.path);
  if (where.path === ctx.workdir.replace(/\/+$/, '')) return fail('path is the repository root, not a file');
  try {
    await ctx.sandbox.writeFile(where.path, args.content);
  } catch (err) {
    return fail(fileError('write', rel, err, ctx.workdir));
  }
  return ok(`wrote ${rel} (${Buffer.byteLength(args.content)} bytes)`);
}

async function editFile(args: z.infer<typeof ToolArgs.edit_file>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const where = resolveInWorkdir(ctx.workdir, args.path);
  if (!where.ok) return fail(where.error);
  const rel = relativeArg(ctx.workdir, where.path);
  let before: string;
  try {
    before = Buffer.from(await ctx.sandbox.readFile(where.path)).toString('utf8');
  } catch (err) {
    return fail(fileError('read', rel, err, ctx.workdir));
  }
  const edited = applyExactEdit(before, args.old_text, args.new_text);
  if (!edited.ok) return fail(`${rel}: ${edited.error}`);
  try {
    await ctx.sandbox.writeFile(where.path, edited.content);
  } catch (err) {
    return fail(fileError('write', rel, err, ctx.workdir));
  }
  return ok(`edited ${rel}`);
}

async function searchText(args: z.infer<typeof ToolArgs.search_text>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const where = resolveInWorkdir(ctx.workdir, args.path);
  if (!where.ok) return fail(where.error);
  const rel = relativeArg(ctx.workdir, where.path);
  // -I skips binary files; -m bounds one huge generated file; -H names the file even when `path` is one file.
  const argv = ['grep', '-rnIHE', '-m', '50', '--exclude-dir=.git', '--exclude-dir=node_modules', '-e', args.pattern, '--', rel];
  const r = await ctx.sandbox.exec(argv, { cwd: ctx.workdir, timeoutMs: TOOL_LIMITS.helperTimeoutMs, signal: ctx.signal });
  if (r.timedOut) return fail(`search timed out after ${TOOL_LIMITS.helperTimeoutMs} ms; search a smaller path`);
  if (r.exitCode === 1) return ok('no matches');
  if (r.exitCode !== 0 && r.stdout === '') return fail(`search failed: ${firstLine(r.stderr) || `exit code ${r.exitCode}`}`);
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  const shown = lines.slice(0, TOOL_LIMITS.searchMaxLines).map((l) => truncateText(stripDotSlash(l), TOOL_LIMITS.searchMaxLineChars));
  const more = lines.length - shown.length;
  return ok(shown.join('\n') + (more > 0 ? `\n[${more} more matching lines not shown; narrow the pattern or the path]` : ''));
}

async function runCommand(args: z.infer<typeof ToolArgs.run_command>, ctx: SandboxToolContext): Promise<ToolOutcome> {
  const r = await ctx.sandbox.exec(['sh', '-c', args.command], { cwd: ctx.workdir, env: ctx.env, timeoutMs: ctx.commandTimeoutMs, signal: ctx.signal });
  const parts: string[] = [];
  if (r.stdout !== '') parts.push(r.stdout.trimEnd());
  if (r.stderr !== '') parts.push(`[stderr]\n${r.stderr.trimEnd()}`);
  const output = headAndTail(parts.join('\n'), TOOL_LIMITS.commandOutputMaxChars);
  if (r.timedOut) return fail(`command killed after ${ctx.commandTimeoutMs} ms (timeout)\n${output}`.trimEnd());
  const status = `exit code ${r.exitCode}`;
  return { ok: r.exitCode === 0, output: output === '' ? `${status} (no output)` : `${status}\n${output}` };
}

function fn(name: string, description: string, properties: Record<string, object>, required: string[] = []): ChatCompletionFunctionTool {
  return { type: 'function', function: { name, description, parameters: { type: 'object', properties, required, additionalProperties: false } } };
}

const ok = (output: string): ToolOutcome => ({ ok: true, output });
const fail = (output: string): ToolOutcome => ({ ok: false, output });

/** The argument for find/grep, relative to the checkout, so their output names paths as the repository does. */
function relativeArg(workdir: string, absolute: string): string {
  const rel = repoRelativePath(absolute, workdir.replace(/\/+$/, ''));
  return rel === '' ? '.' : rel;
}

const stripDotSlash = (line: string) => (line.startsWith('./') ? line.slice(2) : line);
const firstLine = (text: string) => truncateText(text.trim().split('\n')[0] ?? '', 500);

/**
 * A model-facing reason for a failed read or write. The sandbox's messages can name host paths and errno
 * details that mean nothing to the model, so the common cases get plain words.
 */
function fileError(op: 'read' | 'write', rel: string, err: unknown, workdir: string): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/ENOENT/.test(message)) return `cannot ${op} ${rel}: no such file`;
  if (/EISDIR|not a regular file/.test(message)) return `cannot ${op} ${rel}: it is a directory or not a regular file`;
  if (/symlink/.test(message)) return `cannot ${op} ${rel}: it is a symlink; use its target`;
  if (/larger than/.test(message)) return `cannot ${op} ${rel}: the file is too large; use search_text or run_command (head, sed -n)`;
  return `cannot ${op} ${rel}: ${truncateText(message.split(workdir).join('.'), 500)}`;
}

/** Command output keeps its start and its end: the command echoed first, the error or test summary last. */
function headAndTail(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const half = Math.floor(maxChars / 2);
  return `${text.slice(0, half)}\n[… ${text.length - 2 * half} chars cut …]\n${text.slice(-half)}`;
}
