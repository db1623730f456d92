import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent, JobEventOf, JobResult } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_CHECKS_REPO, FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * Checks before the pull request, as a user runs them: the API and a worker as real processes, the real claude
 * CLI against the fake model in bubblewrap sandboxes, and a repository whose `npm test` (node test.js) fails
 * until greet.js is fixed. The first agent run only adds HELLO.md; what happens next is the fix rounds'.
 */
jest.setTimeout(180_000);

const GITHUB_TOKEN = 'ghp_e2eChecksToken0123456789abcdefABCDEF';
const API_KEY = 'sk-ant-e2e-checks-key';
const FIX_ROUNDS = 2;

describe('end to end: checks before the pull request', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-checks');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: API_KEY });
    await github.createRepo('acme', 'greeter', { private: true, files: { ...FAKE_CHECKS_REPO.files } });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-checks-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '1000' });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '2',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      CHECK_FIX_ROUNDS: String(FIX_ROUNDS),
      CHECK_TIMEOUT_MS: '30000',
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const submit = async (body: Record<string, unknown>) =>
    fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/greeter`, ...body }),
    });

  /** Submits, then reads the job's SSE stream to its end. */
  const runJob = async (body: Record<string, unknown>) => {
    const res = await submit(body);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${id}/events`))) events.push(JSON.parse(m.data) as JobEvent);
    return { jobId: id, events };
  };

  const succeeded = (events: JobEvent[]): JobResult => {
    const last = events.at(-1)!;
    if (last.type !== 'job.succeeded') throw new Error(`job ended with ${JSON.stringify(last)}`);
    return last.result;
  };
  const stepsOf = (events: JobEvent[]) => events.flatMap((e) => (e.type === 'step.completed' ? [e.step] : []));
  const checkEvents = (events: JobEvent[]) => events.filter((e): e is JobEventOf<'check.completed'> => e.type === 'check.completed');
  /** The fix rounds' prompts, as the fake model received them (each a new CLI run: its first user message). */
  const fixPrompts = () =>
    model.requests
      .map((r) => JSON.stringify(r.body))
      .filter((body) => body.includes(FAKE_CHECKS_REPO.failureText) && body.includes('checks fail with the changes'));

  const cloneBranch = (branch: string) => {
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('git', ['clone', '-q', '--branch', branch, github.repoDir('acme', 'greeter'), dir]);
    return dir;
  };

  it('a failing npm test that the fix round fixes: checks pass, a normal PR with the table', async () => {
    const { jobId, events } = await runJob({ prompt: '[scenario:checks-fixable] Add a hello file' });
    const result = succeeded(events);

    expect(stepsOf(events)).toEqual(['create_sandbox', 'clone', 'run_agent', 'run_checks', 'fix_checks', 'run_checks', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox']);
    expect(events.filter((e) => e.type === 'checks.started')).toEqual([
      expect.objectContaining({ commands: ['npm test'], source: 'detected', round: 0 }),
      expect.objectContaining({ commands: ['npm test'], source: 'detected', round: 1 }),
    ]);
    const [failed, passed] = checkEvents(events);
    expect(failed).toMatchObject({ command: 'npm test', exitCode: 1, passed: false, timedOut: false, round: 0 });
    expect(failed!.outputTail).toContain(`${FAKE_CHECKS_REPO.failureText}: expected "Hello, world", got "Helo, world"`);
    expect(passed).toMatchObject({ command: 'npm test', exitCode: 0, passed: true, round: 1 });
    expect(passed!.outputTail).toContain('greeting ok');

    // The fix round's prompt carried the task (with its tag) and the failing output.
    const prompts = fixPrompts();
    expect(prompts.length).toBeGreaterThan(0);
    expect(prompts.every((p) => p.includes('[scenario:checks-fixable] Add a hello file'))).toBe(true);

    expect(result).toMatchObject({
      outcome: 'pr_opened',
      checks: [{ command: 'npm test', exitCode: 0, passed: true, durationMs: expect.any(Number) }],
    });
    expect(result.filesChanged).toEqual(
      expect.arrayContaining([
        { path: FAKE_FILES.helloPath, change: 'added' },
        { path: FAKE_CHECKS_REPO.greetPath, change: 'modified' },
      ]),
    );
    const pr = github.pulls('acme', 'greeter').find((p) => p.number === result.pr!.number)!;
    expect(pr.draft).toBe(false);
    expect(pr.body.startsWith('## Summary')).toBe(true);
    expect(pr.body).toMatch(/## Checks\n\n\| Command \| Outcome \| Duration \|\n\| --- \| --- \| --- \|\n\| `npm test` \| ✅ passed \| [\d.]+ (ms|s) \|/);
    expect(pr.body).toContain('The agent had 1 fix round');

    const status = (await (await fetch(`${baseUrl}/api/jobs/${jobId}`)).json()) as { state: string; result: JobResult };
    expect(status).toMatchObject({ state: 'succeeded', result: { checks: result.checks } });

    const dir = cloneBranch(`tinyb/${jobId}`);
    expect(await readFile(join(dir, FAKE_CHECKS_REPO.greetPath), 'utf8')).toBe(FAKE_CHECKS_REPO.fixedGreet);
    expect(execFileSync('node', ['test.js'], { cwd: dir }).toString()).toContain('greeting ok');
    await rm(dir, { recursive: true, force: true });
  });

  it('a failing npm test the agent cannot fix: after CHECK_FIX_ROUNDS rounds, a draft PR that says so at the top', async () => {
    const before = fixPrompts().length;
    const { jobId, events } = await runJob({ prompt: '[scenario:checks-unfixable] Add a hello file' });
    const result = succeeded(events);

    expect(stepsOf(events)).toEqual([
      'create_sandbox',
      'clone',
      'run_agent',
      ...Array.from({ length: FIX_ROUNDS }, () => ['run_checks', 'fix_checks']).flat(),
      'run_checks',
      'commit',
      'push_branch',
      'open_pr',
      'destroy_sandbox',
    ]);
    expect(checkEvents(events).map((e) => [e.round, e.passed])).toEqual([
      [0, false],
      [1, false],
      [2, false],
    ]);
    expect(fixPrompts().length).toBeGreaterThan(before);

    expect(result).toMatchObject({ outcome: 'pr_opened', checks: [{ command: 'npm test', exitCode: 1, passed: false }] });
    const pr = github.pulls('acme', 'greeter').find((p) => p.number === result.pr!.number)!;
    expect(pr.draft).toBe(true);
    const top = pr.body.split('\n').slice(0, 2).join('\n');
    expect(top).toContain("The repository's checks fail on this change");
    expect(top).toContain(`after ${FIX_ROUNDS} fix rounds`);
    expect(pr.body).toContain('| `npm test` | ❌ exit code 1 |');

    // The agent's attempts are in the PR, greet.js is still broken.
    const dir = cloneBranch(`tinyb/${jobId}`);
    await stat(join(dir, FAKE_CHECKS_REPO.attemptPath));
    expect(await readFile(join(dir, FAKE_CHECKS_REPO.greetPath), 'utf8')).toBe(FAKE_CHECKS_REPO.files['greet.js']);
    await rm(dir, { recursive: true, force: true });
  });

  it('the request names its checks (beating detection), and bad ones are refused with 400', async () => {
    const { events } = await runJob({ prompt: '[scenario:write] Add a hello file', checks: ['test -f HELLO.md', 'node -e "process.exit(0)"'] });
    const result = succeeded(events);
    expect(events.find((e) => e.type === 'checks.started')).toMatchObject({ source: 'request', commands: ['test -f HELLO.md', 'node -e "process.exit(0)"'] });
    expect(result.checks?.map((c) => c.passed)).toEqual([true, true]);
    expect(github.pulls('acme', 'greeter').find((p) => p.number === result.pr!.number)!.draft).toBe(false);

    for (const checks of [['npm test\0rm -rf /'], Array.from({ length: 11 }, () => 'true'), 'npm test']) {
      const res = await submit({ prompt: 'x', checks });
      expect(res.status).toBe(400);
    }
  });
});
