import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, workspaceRoot, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, FAKE_FINAL_TEXT, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * Follow-ups on a pull request, as a user runs them: the API (with read access to GitHub for the pre-flight)
 * and a worker as real processes, the real claude binary against the fake model, the fake GitHub.
 */
jest.setTimeout(180_000);

const GITHUB_TOKEN = 'ghp_followUpE2eToken0123456789abcdefAB';
const MODEL_KEY = 'sk-ant-follow-up-model-key';
const KEYS = { alice: 'tb_alice_key_0123456789abcdef', bob: 'tb_bob_key_0123456789abcdefgh' };
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

describe('end to end: follow-ups on a pull request', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;
  let publicUrl: string;
  const bare = () => github.repoDir('acme', 'app');
  const git = (...args: string[]) => execFileSync('git', ['--git-dir', bare(), ...args]).toString().trim();
  const branches = () => git('for-each-ref', '--format=%(refname)', 'refs/heads').split('\n').sort();

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-follow-up');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo('acme', 'app', { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-follow-up-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    publicUrl = `https://tinyb.example.test`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', {
      ...shared,
      PORT: String(port),
      HOST: '127.0.0.1',
      SSE_HEARTBEAT_MS: '1000',
      JOB_BACKOFF_MS: '200',
      API_KEYS: `alice:${sha256(KEYS.alice)},bob:${sha256(KEYS.bob)}`,
      // The pre-flight: the API reads pull requests with the same token.
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
    });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: MODEL_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '1',
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      PUBLIC_URL: publicUrl,
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    for (const app of [api, worker]) expect(app.output()).not.toContain(GITHUB_TOKEN);
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const post = async (path: string, body: Record<string, unknown>, key = KEYS.alice) =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
  const submit = async (body: Record<string, unknown>, key = KEYS.alice) => {
    const res = await post('/api/jobs', body, key);
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const readAll = async (jobId: string, onEvent?: (e: JobEvent) => void) => {
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${KEYS.alice}` } });
    const events: JobEvent[] = [];
    for await (const m of sseMessages(res)) {
      const event = JSON.parse(m.data) as JobEvent;
      events.push(event);
      onEvent?.(event);
    }
    return events;
  };
  /** A pull request opened by hand: a branch one (empty) commit ahead of main. */
  const openPullByHand = async (branch: string, title: string) => {
    const commit = execFileSync('git', ['--git-dir', bare(), 'commit-tree', 'main^{tree}', '-p', 'main', '-m', `start ${branch}`]).toString().trim();
    git('update-ref', `refs/heads/${branch}`, commit);
    const res = await fetch(`${github.apiUrl}/repos/acme/app/pulls`, {
      method: 'POST',
      headers: { authorization: `token ${GITHUB_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title, head: branch, base: 'main', body: `${title}, by hand.` }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { number: number; html_url: string };
  };

  let first: { jobId: string; prUrl: string; prNumber: number; branch: string };

  it('a follow-up adds exactly one commit to the pull request\'s branch, opens nothing new, and comments its summary', async () => {
    // The pull request to continue, opened by an ordinary job.
    const jobId = await submit({ repo_url: `${github.url}/acme/app`, prompt: '[scenario:write] Add a hello file' });
    const opened = (await readAll(jobId)).at(-1)!;
    if (opened.type !== 'job.succeeded' || !opened.result.pr) throw new Error(`first job did not open a PR: ${JSON.stringify(opened)}`);
    first = { jobId, prUrl: opened.result.pr.url, prNumber: opened.result.pr.number, branch: opened.result.pr.branch };
    github.addReviewComment('acme', 'app', first.prNumber, { body: 'Please also update the status line in the README', path: 'HELLO.md', line: 1, user: 'reviewer-rita' });
    github.addIssueComment('acme', 'app', first.prNumber, { body: 'Nice start!', user: 'carol' });

    const pullsBefore = github.pulls('acme', 'app').length;
    const branchesBefore = branches();
    const headBefore = git('rev-parse', `refs/heads/${first.branch}`);
    const requestsBefore = model.requests.length;

    const followUpId = await submit({ pr_url: first.prUrl, prompt: '[scenario:edit] Update the status line' });
    const events = await readAll(followUpId);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'job.succeeded', result: { outcome: 'pr_updated', pr: { url: first.prUrl, number: first.prNumber, branch: first.branch } } });
    expect(events).toContainEqual(expect.objectContaining({ type: 'pr.created', reused: true, followUp: true, url: first.prUrl }));
    const committed = events.find((e) => e.type === 'git.committed');
    expect(committed).toMatchObject({ branch: first.branch, filesChanged: [{ path: 'README.md', change: 'modified' }] });

    // Exactly one new commit, on top of the old head; no new branch, no new pull request.
    const headAfter = git('rev-parse', `refs/heads/${first.branch}`);
    expect(git('rev-list', `${headBefore}..${headAfter}`).split('\n')).toEqual([headAfter]);
    expect(git('rev-parse', `${headAfter}^`)).toBe(headBefore);
    expect(committed).toMatchObject({ sha: headAfter });
    expect(git('show', `${headAfter}:README.md`)).toContain(FAKE_FILES.readmeNewLine);
    expect(git('show', `${headAfter}:HELLO.md`)).toBe(FAKE_FILES.helloContent.trim());
    expect(branches()).toEqual(branchesBefore);
    expect(github.pulls('acme', 'app')).toHaveLength(pullsBefore);

    // The agent was briefed with the pull request: title, body, the review comment, the conversation, as untrusted context.
    const sent = model.requests.slice(requestsBefore).map((r) => r.rawBody).join('\n');
    const pr = github.pulls('acme', 'app').find((p) => p.number === first.prNumber)!;
    expect(sent).toContain('untrusted-pull-request-context');
    expect(sent).toContain(JSON.stringify(pr.title).slice(1, -1));
    expect(sent).toContain(FAKE_FINAL_TEXT.write); // the PR body carries the first job's summary
    expect(sent).toContain('reviewer-rita on HELLO.md:1: Please also update the status line in the README');
    expect(sent).toContain('carol: Nice start!');

    // One summary comment, with the link to the job's events under PUBLIC_URL.
    const comments = github.issueComments('acme', 'app', first.prNumber).filter((c) => c.body.includes(`job=${followUpId}`));
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain(FAKE_FINAL_TEXT.edit);
    expect(comments[0]!.body).toContain(`${publicUrl}/api/jobs/${followUpId}/events`);
  });

  it('parent_job_id continues the parent\'s pull request for its tenant, and is a 404 for another tenant', async () => {
    const asBob = await post('/api/jobs', { parent_job_id: first.jobId, prompt: 'steal it' }, KEYS.bob);
    expect(asBob.status).toBe(404);
    expect(await asBob.json()).toMatchObject({ error: { code: 'not_found' } });
    const disagree = await post('/api/jobs', { parent_job_id: first.jobId, repo_url: `${github.url}/acme/other`, prompt: 'x' });
    expect(disagree.status).toBe(400);

    const head = git('rev-parse', `refs/heads/${first.branch}`);
    const id = await submit({ parent_job_id: first.jobId, repo_url: `${github.url}/acme/app`, prompt: '[scenario:noop] Anything left?' });
    expect((await readAll(id)).at(-1)).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });
    expect(git('rev-parse', `refs/heads/${first.branch}`)).toBe(head);
  });

  it('refuses a closed PR (409) and a fork\'s PR (422) at submit time', async () => {
    const closed = await openPullByHand('closed-one', 'Closed one');
    github.closePull('acme', 'app', closed.number);
    const merged = await openPullByHand('merged-one', 'Merged one');
    github.mergePull('acme', 'app', merged.number);
    const fork = await openPullByHand('fork-one', 'From a fork');
    github.setPullHeadRepo('acme', 'app', fork.number, { owner: 'mallory', name: 'app' });

    for (const [pr, status, code] of [[closed, 409, 'pr_closed'], [merged, 409, 'pr_closed'], [fork, 422, 'pr_from_fork']] as const) {
      const res = await post('/api/jobs', { pr_url: pr.html_url, prompt: 'x' });
      expect(res.status).toBe(status);
      expect(await res.json()).toMatchObject({ error: { code } });
    }
    const missing = await post('/api/jobs', { pr_url: `${github.url}/acme/app/pull/999`, prompt: 'x' });
    expect(missing.status).toBe(404);
  });

  it('fails pr_branch_moved, without retrying or overwriting, when the branch moves under the job', async () => {
    const pr = await openPullByHand('moving', 'Moving target');
    let pushed = '';
    const id = await submit({ pr_url: pr.html_url, prompt: '[scenario:write] Add hello' });
    const events = await readAll(id, (e) => {
      // Someone pushes while the agent works.
      if (e.type === 'step.started' && e.step === 'run_agent') {
        pushed = execFileSync('git', ['--git-dir', bare(), 'commit-tree', 'moving^{tree}', '-p', 'moving', '-m', 'a human push']).toString().trim();
        git('update-ref', 'refs/heads/moving', pushed);
      }
    });
    expect(events.at(-1)).toMatchObject({ type: 'job.failed', error: { code: 'pr_branch_moved', step: 'push_branch' } });
    expect(events.map((e) => e.type)).not.toContain('job.retrying');
    expect(git('rev-parse', 'refs/heads/moving')).toBe(pushed);
  });

  it('tinyb submit --pr and POST /code with prUrl run follow-ups against the real API', async () => {
    const pr = await openPullByHand('cli-target', 'CLI target');
    // Asynchronously: the fake GitHub and model live in this process and must keep answering while the CLI waits.
    const cli = await promisify(execFile)(process.execPath, [join(workspaceRoot(), 'apps/cli/bin/tinyb.js'), 'submit', '--pr', pr.html_url, '--prompt', '[scenario:write] Add hello'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TINYB_URL: baseUrl, TINYB_API_KEY: KEYS.alice },
      encoding: 'utf8',
      timeout: 120_000,
    });
    // execFile rejects on a non-zero exit, so getting here means tinyb exited 0.
    expect(cli.stdout).toContain(`pull request updated: ${pr.html_url}`);
    expect(cli.stdout).toContain(`succeeded: ${pr.html_url}`);

    const legacyPr = await openPullByHand('legacy-target', 'Legacy target');
    const res = await post('/code', { prUrl: legacyPr.html_url, prompt: '[scenario:write] Add hello' });
    expect(res.status).toBe(200);
    const frames = [];
    for await (const m of sseMessages(res)) frames.push(JSON.parse(m.data) as { type: string; pr_url?: string });
    expect(frames.at(-1)).toMatchObject({ type: 'complete', pr_url: legacyPr.html_url });
    expect(frames).toContainEqual(expect.objectContaining({ type: 'pr_created', pr_url: legacyPr.html_url }));
    expect(git('rev-list', '--count', 'main..legacy-target')).toBe('2');
  });
});
