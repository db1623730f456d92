import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError, type Sandbox } from '@tinyb/core';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { TOOL_LIMITS, runSandboxTool, type SandboxToolContext } from './sandbox-tools.js';

jest.setTimeout(30_000);

const rootDir = path.join(tmpdir(), `tinyb-openai-tools-int-${process.pid}`);
let provider: LocalSandboxProvider;
let sandbox: Sandbox;
let tools: SandboxToolContext;
let workdir: string;

beforeAll(async () => {
  provider = new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 });
  sandbox = await provider.create({ jobId: 'openai-tools-int', attempt: 1, toolPaths: [] }, new AbortController().signal);
  workdir = `${sandbox.workspaceDir}/repo`;
  await sandbox.writeFile(`${workdir}/README.md`, '# Demo\n\nline three\n');
  await sandbox.writeFile(`${workdir}/src/app.ts`, 'export const answer = 42;\n// TODO: more\n');
  await sandbox.writeFile(`${workdir}/src/deep/er/file.txt`, 'deep\n');
  await sandbox.writeFile(`${workdir}/node_modules/dep/index.js`, '// TODO in a dependency\n');
  await sandbox.writeFile(`${workdir}/numbers.txt`, Array.from({ length: 10 }, (_, i) => `n${i + 1}`).join('\n') + '\n');
  await sandbox.writeFile(`${workdir}/blob.bin`, new Uint8Array([0x89, 0x50, 0, 1, 2]));
  expect((await sandbox.exec(['git', 'init', '-q'], { cwd: workdir })).exitCode).toBe(0);
  expect((await sandbox.exec(['ln', '-s', '/etc/passwd', 'passwd-link'], { cwd: workdir })).exitCode).toBe(0);
  tools = { sandbox, workdir, env: { HOME: `${sandbox.workspaceDir}/scratch` }, commandTimeoutMs: 5_000, signal: new AbortController().signal };
});
afterAll(async () => {
  await sandbox?.destroy();
  await rm(rootDir, { recursive: true, force: true });
});

const run = (name: string, args: unknown) => runSandboxTool(name, args, tools);

describe('the OpenAI agent’s tools in a bwrap sandbox', () => {
  it('list_files: repo-relative, sorted, directories marked, .git and node_modules skipped, depth honoured', async () => {
    expect(await run('list_files', {})).toEqual({
      ok: true,
      output: ['README.md', 'blob.bin', 'numbers.txt', 'passwd-link', 'src/', 'src/app.ts', 'src/deep/', 'src/deep/er/'].join('\n'),
    });
    expect(await run('list_files', { path: 'src', depth: 1 })).toEqual({ ok: true, output: 'src/app.ts\nsrc/deep/' });
    expect(await run('list_files', { path: `${workdir}/src/deep`, depth: null })).toEqual({ ok: true, output: 'src/deep/er/\nsrc/deep/er/file.txt' });
    expect(await run('list_files', { path: 'missing' })).toMatchObject({ ok: false, output: expect.stringContaining('cannot list missing') });
    expect(await run('list_files', { path: '..' })).toMatchObject({ ok: false, output: expect.stringContaining('outside the repository') });
    expect(await run('list_files', { depth: 99 })).toMatchObject({ ok: false, output: expect.stringContaining('invalid arguments for list_files: depth') });
  });

  it('read_file: whole files as they are, line windows with a note, binaries and directories refused politely', async () => {
    expect(await run('read_file', { path: 'README.md' })).toEqual({ ok: true, output: '# Demo\n\nline three\n' });
    expect(await run('read_file', { path: 'numbers.txt', offset: 3, limit: 2 })).toEqual({ ok: true, output: 'n3\nn4\n[lines 3-4 of 10; read on with offset 5]' });
    expect(await run('read_file', { path: 'numbers.txt', offset: '9' })).toEqual({ ok: true, output: 'n9\nn10\n[lines 9-10 of 10]' });
    expect(await run('read_file', { path: 'numbers.txt', offset: 11 })).toMatchObject({ ok: false, output: expect.stringContaining('past the end') });
    expect(await run('read_file', { path: 'blob.bin' })).toEqual({ ok: true, output: '(binary file, 5 bytes, not shown)' });
    expect(await run('read_file', { path: 'nope.md' })).toEqual({ ok: false, output: 'cannot read nope.md: no such file' });
    expect(await run('read_file', { path: 'src' })).toMatchObject({ ok: false, output: expect.stringContaining('cannot read src') });
    expect(await run('read_file', { path: '/etc/passwd' })).toMatchObject({ ok: false, output: expect.stringContaining('outside the repository') });
    expect(await run('read_file', {})).toMatchObject({ ok: false, output: expect.stringContaining('invalid arguments for read_file: path') });
  });

  it('read_file and write_file: a symlink out of the sandbox is not followed', async () => {
    const r = await run('read_file', { path: 'passwd-link' });
    expect(r).toMatchObject({ ok: false, output: expect.stringContaining('cannot read passwd-link') });
    expect(r.output).not.toContain('root:');
    expect(await run('write_file', { path: 'passwd-link', content: 'x' })).toMatchObject({ ok: false, output: expect.stringContaining('cannot write passwd-link') });
  });

  it('read_file: bounds what one call returns', async () => {
    const big = Array.from({ length: 3000 }, (_, i) => `line ${i + 1} ${'x'.repeat(40)}`).join('\n');
    await sandbox.writeFile(`${workdir}/big.txt`, big);
    const r = await run('read_file', { path: 'big.txt' });
    expect(r.ok).toBe(true);
    expect(r.output.length).toBeLessThanOrEqual(TOOL_LIMITS.readMaxChars + 100);
    expect(r.output).toMatch(/\[lines 1-\d+ of 3000; read on with offset \d+\]$/);
  });

  it('write_file and edit_file: create with parents, edit exactly once, refuse escapes', async () => {
    expect(await run('write_file', { path: 'docs/new/guide.md', content: 'Guide: old\nGuide: old\n' })).toEqual({ ok: true, output: 'wrote docs/new/guide.md (22 bytes)' });
    expect(await run('edit_file', { path: 'docs/new/guide.md', old_text: 'Guide: old', new_text: 'Guide: new' })).toMatchObject({
      ok: false,
      output: expect.stringContaining('occurs 2 times'),
    });
    expect(await run('edit_file', { path: 'docs/new/guide.md', old_text: 'Guide: old\nGuide: old', new_text: 'Guide: new' })).toEqual({ ok: true, output: 'edited docs/new/guide.md' });
    expect(Buffer.from(await sandbox.readFile(`${workdir}/docs/new/guide.md`)).toString()).toBe('Guide: new\n');
    expect(await run('edit_file', { path: 'missing.md', old_text: 'a', new_text: 'b' })).toEqual({ ok: false, output: 'cannot read missing.md: no such file' });
    expect(await run('write_file', { path: '../scratch/planted.sh', content: 'x' })).toMatchObject({ ok: false, output: expect.stringContaining('outside the repository') });
    expect(await run('write_file', { path: '.', content: 'x' })).toMatchObject({ ok: false, output: expect.stringContaining('not a file') });
  });

  it('search_text: file:line:text, repo-relative, skipping node_modules; no matches is not an error', async () => {
    expect(await run('search_text', { pattern: 'TODO' })).toEqual({ ok: true, output: 'src/app.ts:2:// TODO: more' });
    expect(await run('search_text', { pattern: 'answer = [0-9]+', path: 'src/app.ts' })).toEqual({ ok: true, output: 'src/app.ts:1:export const answer = 42;' });
    expect(await run('search_text', { pattern: 'nowhere-to-be-found' })).toEqual({ ok: true, output: 'no matches' });
    expect(await run('search_text', { pattern: '(' })).toMatchObject({ ok: false, output: expect.stringContaining('search failed') });
    expect(await run('search_text', { pattern: '-v' })).toMatchObject({ ok: true });
  });

  it('run_command: exit code, stdout and stderr, in the repository root, with only the given environment', async () => {
    expect(await run('run_command', { command: 'pwd; echo oops >&2; exit 3' })).toEqual({ ok: false, output: `exit code 3\n${workdir}\n[stderr]\noops` });
    const env = await run('run_command', { command: 'env' });
    expect(env.output).toContain(`HOME=${sandbox.workspaceDir}/scratch`);
    expect(env.output).not.toMatch(/JEST|npm_|GITHUB/);
  });

  it('run_command: keeps the head and tail of long output, and kills commands past their timeout', async () => {
    const long = await run('run_command', { command: 'echo first; seq 1 20000; echo last' });
    expect(long.ok).toBe(true);
    expect(long.output.length).toBeLessThan(TOOL_LIMITS.commandOutputMaxChars + 200);
    expect(long.output).toMatch(/^exit code 0\nfirst\n/);
    expect(long.output).toMatch(/chars cut …\][\s\S]*\nlast$/);
    const started = Date.now();
    const slow = await runSandboxTool('run_command', { command: 'echo started; sleep 30' }, { ...tools, commandTimeoutMs: 500 });
    expect(slow).toEqual({ ok: false, output: 'command killed after 500 ms (timeout)\nstarted' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('run_command: an abort rejects with the signal’s reason', async () => {
    const controller = new AbortController();
    const pending = runSandboxTool('run_command', { command: 'sleep 30' }, { ...tools, signal: controller.signal });
    setTimeout(() => controller.abort(new AppError('cancelled', 'stop now')), 200);
    await expect(pending).rejects.toMatchObject({ code: 'cancelled', message: 'stop now' });
  });

  it('unknown tools and arguments that are not JSON come back as errors', async () => {
    expect(await run('rm_rf', {})).toMatchObject({ ok: false, output: expect.stringContaining('unknown tool "rm_rf"') });
    expect(await run('toString', {})).toMatchObject({ ok: false, output: expect.stringContaining('unknown tool') });
    expect(await run('write_file', undefined)).toMatchObject({ ok: false, output: expect.stringContaining('not valid JSON') });
  });
});
