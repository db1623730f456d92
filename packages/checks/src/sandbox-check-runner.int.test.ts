import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CheckPlan, CheckRun, Sandbox } from '@tinyb/core';
import { LocalSandboxProvider, findBwrap } from '@tinyb/sandbox';
import { SandboxCheckRunner } from './sandbox-check-runner.js';

// Real bubblewrap sandboxes with a sealed network (loopback only), as a worker without SANDBOX_EGRESS_ALLOW has.
if (!findBwrap()) throw new Error('these tests need bubblewrap (apt-get install bubblewrap)');

const rootDir = path.join(tmpdir(), `tinyb-checks-int-${process.pid}`);
const provider = new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 });
const never = new AbortController().signal;
const live: Sandbox[] = [];
let jobs = 0;

afterEach(async () => {
  await Promise.all(live.splice(0).map((s) => s.destroy()));
});
afterAll(async () => {
  await rm(rootDir, { recursive: true, force: true });
});

/** A sandbox whose checkout holds `files`. */
async function checkout(files: Record<string, string>): Promise<{ sandbox: Sandbox; repoDir: string }> {
  const sandbox = await provider.create({ jobId: `checks-${++jobs}`, attempt: 1, toolPaths: [] }, never);
  live.push(sandbox);
  const repoDir = `${sandbox.workspaceDir}/repo`;
  expect((await sandbox.exec(['mkdir', '-p', repoDir])).exitCode).toBe(0);
  for (const [name, content] of Object.entries(files)) await sandbox.writeFile(`${repoDir}/${name}`, content);
  return { sandbox, repoDir };
}

const runner = (opts: Partial<ConstructorParameters<typeof SandboxCheckRunner>[0]> = {}) =>
  new SandboxCheckRunner({ checkTimeoutMs: 20_000, totalTimeoutMs: 60_000, ...opts });

async function planAndRun(r: SandboxCheckRunner, files: Record<string, string>, requested?: string[]) {
  const { sandbox, repoDir } = await checkout(files);
  const plan = await r.plan({ sandbox, repoDir, ...(requested ? { requested } : {}) }, never);
  const reported: CheckRun[] = [];
  const runs = await r.run({ sandbox, repoDir, plan }, { signal: never, onCompleted: async (run) => void reported.push(run) });
  expect(reported).toEqual(runs);
  return { plan, runs };
}

const nodePackage = (test: string, more: object = {}) => JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { test }, ...more });
const PASSING_TEST = "console.log('1 test passed'); process.exit(0);\n";
const FAILING_TEST = "console.error('AssertionError: expected \"Hello, world\", got \"Helo\"'); process.exit(1);\n";

describe('SandboxCheckRunner in a bwrap sandbox', () => {
  it('finds package.json `test` and runs it with npm: a pass', async () => {
    const { plan, runs } = await planAndRun(runner(), { 'package.json': nodePackage('node test.js'), 'test.js': PASSING_TEST });
    expect(plan).toEqual({ source: 'detected', checks: [{ command: 'npm test', setup: false }] });
    expect(runs).toEqual([expect.objectContaining({ command: 'npm test', exitCode: 0, passed: true, timedOut: false })]);
    expect(runs[0]!.outputTail).toContain('1 test passed');
  });

  it('a failing test: its exit code and the end of its output, stderr included', async () => {
    const { runs } = await planAndRun(runner(), { 'package.json': nodePackage('node test.js'), 'test.js': FAILING_TEST });
    expect(runs[0]).toMatchObject({ command: 'npm test', exitCode: 1, passed: false, timedOut: false });
    expect(runs[0]!.outputTail).toContain('AssertionError: expected "Hello, world", got "Helo"');
  });

  it('.tinyb.yml beats detection, and the request beats .tinyb.yml', async () => {
    const files = { 'package.json': nodePackage('node test.js'), 'test.js': FAILING_TEST, '.tinyb.yml': 'checks:\n  - echo from-file\n' };
    const fromFile = await planAndRun(runner(), files);
    expect(fromFile.plan).toEqual({ source: 'file', checks: [{ command: 'echo from-file', setup: false }] });
    expect(fromFile.runs[0]).toMatchObject({ passed: true, outputTail: 'from-file\n' });
    const fromRequest = await planAndRun(runner(), files, ['echo from-request && exit 3']);
    expect(fromRequest.plan.source).toBe('request');
    expect(fromRequest.runs[0]).toMatchObject({ exitCode: 3, passed: false, outputTail: 'from-request\n' });
  });

  it('a broken .tinyb.yml is one failed setup check naming the problem, and runs nothing', async () => {
    const { plan, runs } = await planAndRun(runner(), { '.tinyb.yml': 'checks:\n  - 42\n', 'Makefile': 'test:\n\ttouch ran\n' });
    expect(plan).toMatchObject({ source: 'file', checks: [], problem: expect.stringContaining('.tinyb.yml: checks[0]') });
    expect(runs).toEqual([expect.objectContaining({ command: '.tinyb.yml', setup: true, passed: false })]);
  });

  it('kills a check at its time limit (processes it started included) and goes on with the next', async () => {
    const startedMs = Date.now();
    const { runs } = await planAndRun(runner({ checkTimeoutMs: 1_000 }), {}, ['echo starting; sleep 30 & sleep 30', 'echo next']);
    expect(Date.now() - startedMs).toBeLessThan(10_000);
    expect(runs[0]).toMatchObject({ exitCode: null, timedOut: true, passed: false });
    expect(runs[0]!.outputTail).toMatch(/starting\n[\s\S]*killed after its time limit of 1000 ms/);
    expect(runs[1]).toMatchObject({ exitCode: 0, passed: true });
  });

  it('the total limit: a check gets only what is left, and checks past it are not run', async () => {
    const { runs } = await planAndRun(runner({ checkTimeoutMs: 10_000, totalTimeoutMs: 1_500 }), {}, ['sleep 1', 'sleep 5', 'echo never']);
    expect(runs.map((r) => [r.passed, r.timedOut])).toEqual([
      [true, false],
      [false, true],
      [false, true],
    ]);
    expect(runs[1]!.durationMs).toBeLessThan(2_500);
    expect(runs[2]).toMatchObject({ exitCode: null, durationMs: 0, outputTail: expect.stringContaining('total time limit') });
  });

  it('keeps only the end of a long output', async () => {
    const { runs } = await planAndRun(runner(), {}, ['seq 1 200000; echo THE-END']);
    expect(runs[0]!.outputTail.length).toBeLessThanOrEqual(4_097);
    expect(runs[0]!.outputTail.startsWith('…')).toBe(true);
    expect(runs[0]!.outputTail.endsWith('199999\n200000\nTHE-END\n')).toBe(true);
  });

  it('npm ci with no network fails with npm\'s own output, as a failed setup, without hanging', async () => {
    const lock = JSON.stringify({
      name: 'demo',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'demo', version: '1.0.0', dependencies: { 'left-pad': '1.3.0' } },
        'node_modules/left-pad': {
          version: '1.3.0',
          resolved: 'https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz',
          integrity: 'sha512-XI5MPzVNApjAyhQzphX8BkmKsKUxD4LdyK24iZeQEaxrI6sRGC2pasDu08/8ub0x6wRgrgjlzZ3K9gnmwNS5SA==',
        },
      },
    });
    const files = {
      'package.json': nodePackage('node test.js', { dependencies: { 'left-pad': '1.3.0' } }),
      'package-lock.json': lock,
      // The repository's own npm settings: no retries, so the test does not wait out npm's backoff.
      '.npmrc': 'fetch-retries=0\nfetch-timeout=5000\n',
      'test.js': PASSING_TEST,
    };
    const startedMs = Date.now();
    const { plan, runs } = await planAndRun(runner({ checkTimeoutMs: 30_000 }), files);
    expect(plan.checks).toEqual([
      { command: 'npm ci', setup: true },
      { command: 'npm test', setup: false },
    ]);
    expect(runs[0]).toMatchObject({ command: 'npm ci', setup: true, passed: false, timedOut: false });
    expect(runs[0]!.outputTail).toMatch(/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|network/i);
    expect(Date.now() - startedMs).toBeLessThan(45_000);
  }, 60_000);

  it('an abort stops the running check and rejects', async () => {
    const { sandbox, repoDir } = await checkout({});
    const plan: CheckPlan = { source: 'request', checks: [{ command: 'sleep 30', setup: false }] };
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const startedMs = Date.now();
    await expect(runner().run({ sandbox, repoDir, plan }, { signal: controller.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(Date.now() - startedMs).toBeLessThan(5_000);
  });
});
