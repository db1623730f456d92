import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { GitHubTriggerQueue } from '@tinyb/queue';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { issueCommentCreatedPayload, issuesLabeledPayload, sendWebhookDelivery, type SentWebhook } from '@tinyb/testkit/github-webhook-deliveries';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * GitHub as a trigger, as an operator sets it up: the API (with GITHUB_WEBHOOK_SECRET) and a worker as real
 * processes, the real claude binary against the fake model, and the fake GitHub sending signed deliveries
 * for what its users do (label an issue, comment `/tinyb …`), then checked for what the service did there.
 */
jest.setTimeout(240_000);

const GITHUB_TOKEN = 'ghp_webhookE2eToken0123456789abcdefABCD';
const MODEL_KEY = 'sk-ant-webhooks-e2e-model-key';
const WEBHOOK_SECRET = 'whsec-e2e-0123456789abcdef0123456789';
const PUBLIC_URL = 'https://tinyb.example.test';
const POLL_MS = 100;

describe('end to end: GitHub as a trigger (signed webhooks → jobs → replies)', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;
  let hookUrl: string;
  let triggers: GitHubTriggerQueue;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-webhooks');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo('acme', 'app', { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    github.setRole('acme', 'app', 'alice', 'write');
    github.setRole('acme', 'app', 'eve', 'read');
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-webhooks-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    hookUrl = `${baseUrl}/webhooks/github`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    // The API holds the webhook secret and no GitHub credential at all.
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '1000', GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: MODEL_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '2',
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      PUBLIC_URL,
      TRIGGER_FOLLOW_INTERVAL_MS: '300',
      // No metrics port: another test's worker may hold the default one.
      METRICS_PORT: '0',
    });
    triggers = new GitHubTriggerQueue({ redis: fixture.connect(), prefix: fixture.prefix });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    await triggers?.close();
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    for (const app of [api, worker]) {
      expect(app.output()).not.toContain(GITHUB_TOKEN);
      expect(app.output()).not.toContain(WEBHOOK_SECRET);
    }
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const repoRef = () => ({ githubUrl: github.url, owner: 'acme', repo: 'app' });
  const deliver = (event: string, payload: unknown, opts: { deliveryId?: string; secret?: string | null } = {}) =>
    sendWebhookDelivery(hookUrl, {
      event,
      payload,
      ...(opts.secret === null ? {} : { secret: opts.secret ?? WEBHOOK_SECRET }),
      ...(opts.deliveryId ? { deliveryId: opts.deliveryId } : {}),
    });
  const until = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 120_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  };
  /** The delivery's task has been handled by a worker (whatever it decided). */
  const handled = (sent: SentWebhook) =>
    until(`delivery ${sent.deliveryId} handled`, async () => ((await (await triggers.queue.getJob(`delivery-${sent.deliveryId}`))?.getState()) === 'completed' ? true : undefined));
  const serviceComments = (number: number) => github.issueComments('acme', 'app', number).filter((c) => c.body.includes('<!-- tiny-backspace -->'));
  const jobEvents = async (jobId: string) => {
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${jobId}/events`))) events.push(JSON.parse(m.data) as JobEvent);
    return events;
  };
  /** Waits for the status comment on `number` to be edited with the job's end, and returns it. */
  const finalComment = (number: number, jobId: string) =>
    until(`the status comment of ${jobId} edited`, () => serviceComments(number).find((c) => c.body.includes(`job:${jobId}`) && !c.body.includes('is queued')));

  let firstPr: { number: number; url: string; branch: string };

  it('a signed issues.labeled delivery: 👀 on the issue, a status reply, a PR that says Fixes #N, the reply edited with its link', async () => {
    const issue = github.createIssue('acme', 'app', { title: '[scenario:write] Add a hello file', body: 'We need a HELLO.md.', user: 'alice' });
    const sent = await deliver('issues', issuesLabeledPayload({ ...repoRef(), issue: { number: issue, title: '[scenario:write] Add a hello file', body: 'We need a HELLO.md.' }, label: 'tinyb', sender: { login: 'alice' } }));
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({ status: 'queued' });
    // Answered at once, by an API that holds no GitHub credential: the GitHub calls are the worker's, afterwards.
    expect(sent.durationMs).toBeLessThan(1_000);

    const jobId = `gh-${sent.deliveryId}`;
    const queued = await until('the status reply', () => serviceComments(issue).find((c) => c.body.includes(`job:${jobId}`)));
    expect(queued.body).toContain(`${PUBLIC_URL}/api/jobs/${jobId}`);
    expect(github.reactions('acme', 'app')).toContainEqual({ target: { kind: 'issue', number: issue }, content: 'eyes', user: 'acme' });

    const events = await jobEvents(jobId);
    const last = events.at(-1)!;
    if (last.type !== 'job.succeeded' || !last.result.pr) throw new Error(`the job did not open a PR: ${JSON.stringify(last)}`);
    expect(events[0]).toMatchObject({ type: 'job.queued', repoUrl: `${github.url}/acme/app`, tenant: 'github' });
    const pr = github.pulls('acme', 'app').find((p) => p.number === last.result.pr!.number)!;
    expect(pr.body.split('\n')).toContain(`Fixes #${issue}`);
    expect(pr.body).toContain('requested by @alice');
    expect(pr.title).toBe('[scenario:write] Add a hello file');
    firstPr = { number: pr.number, url: pr.htmlUrl, branch: pr.head.ref };

    const edited = await finalComment(issue, jobId);
    expect(edited.id).toBe(queued.id);
    expect(edited.body).toContain(`opened ${pr.htmlUrl}`);
    expect(serviceComments(issue)).toHaveLength(1);
  });

  it('a /tinyb comment on an issue: 👀 on the comment, a new job on the repository, its PR fixing that issue', async () => {
    const issue = github.createIssue('acme', 'app', { title: 'The status line is stale', user: 'bob' });
    const comment = github.addIssueComment('acme', 'app', issue, { body: '/tinyb [scenario:edit] Update the status line', user: 'alice' });
    const sent = await deliver('issue_comment', issueCommentCreatedPayload({ ...repoRef(), issue: { number: issue, title: 'The status line is stale' }, comment, sender: { login: 'alice' } }));
    expect(sent.body).toEqual({ status: 'queued' });
    const jobId = `gh-${sent.deliveryId}`;
    const edited = await finalComment(issue, jobId);
    expect(github.reactions('acme', 'app')).toContainEqual({ target: { kind: 'comment', id: comment.id }, content: 'eyes', user: 'acme' });
    const pr = github.pulls('acme', 'app').find((p) => p.head.ref.endsWith(jobId))!;
    expect(pr.body.split('\n')).toContain(`Fixes #${issue}`);
    expect(edited.body).toContain(`opened ${pr.htmlUrl}`);
    expect(execFileSync('git', ['--git-dir', github.repoDir('acme', 'app'), 'show', `${pr.head.sha}:README.md`]).toString()).toContain(FAKE_FILES.readmeNewLine);
  });

  it('a /tinyb comment on a pull request: a follow-up commit on that pull request, and no new one', async () => {
    const bare = github.repoDir('acme', 'app');
    const headBefore = execFileSync('git', ['--git-dir', bare, 'rev-parse', `refs/heads/${firstPr.branch}`]).toString().trim();
    const pullsBefore = github.pulls('acme', 'app').length;
    const comment = github.addIssueComment('acme', 'app', firstPr.number, { body: '/tinyb [scenario:edit] Update the status line too', user: 'alice' });
    const sent = await deliver('issue_comment', issueCommentCreatedPayload({ ...repoRef(), issue: { number: firstPr.number, title: 'A PR', pullRequest: true }, comment, sender: { login: 'alice' } }));
    expect(sent.body).toEqual({ status: 'queued' });
    const jobId = `gh-${sent.deliveryId}`;
    const edited = await finalComment(firstPr.number, jobId);
    expect(edited.body).toContain(`pushed a commit to ${firstPr.url}`);
    const headAfter = execFileSync('git', ['--git-dir', bare, 'rev-parse', `refs/heads/${firstPr.branch}`]).toString().trim();
    expect(execFileSync('git', ['--git-dir', bare, 'rev-parse', `${headAfter}^`]).toString().trim()).toBe(headBefore);
    expect(github.pulls('acme', 'app')).toHaveLength(pullsBefore);
  });

  it('does nothing for a user without write access, for a replayed delivery, or for an unsigned one', async () => {
    const issue = github.createIssue('acme', 'app', { title: 'Please do my homework', user: 'eve' });
    const comment = github.addIssueComment('acme', 'app', issue, { body: '/tinyb [scenario:write] Add a hello file', user: 'eve' });
    const payload = issueCommentCreatedPayload({ ...repoRef(), issue: { number: issue, title: 'Please do my homework' }, comment, sender: { login: 'eve' } });
    const reactionsBefore = github.reactions('acme', 'app').length;
    const pullsBefore = github.pulls('acme', 'app').length;

    // eve can only read: the worker asks GitHub, and then says and does nothing.
    const fromReader = await deliver('issue_comment', payload);
    expect(fromReader.body).toEqual({ status: 'queued' });
    await handled(fromReader);
    expect(github.issueComments('acme', 'app', issue)).toHaveLength(1);
    expect(github.reactions('acme', 'app')).toHaveLength(reactionsBefore);
    expect(github.requests.some((r) => r.path === '/repos/acme/app/collaborators/eve/permission' && r.status === 200)).toBe(true);
    expect((await fetch(`${baseUrl}/api/jobs/gh-${fromReader.deliveryId}`)).status).toBe(404);

    // The first delivery of this test, replayed: the same delivery id starts nothing new.
    const labeledAgain = issuesLabeledPayload({ ...repoRef(), issue: { number: issue, title: 'x' }, label: 'tinyb', sender: { login: 'alice' } });
    const original = await deliver('issues', labeledAgain);
    await handled(original);
    const commentsAfterOriginal = github.issueComments('acme', 'app', issue).length;
    const replay = await deliver('issues', labeledAgain, { deliveryId: original.deliveryId });
    expect(replay).toMatchObject({ status: 202, body: { status: 'duplicate' } });
    const unsigned = await deliver('issues', issuesLabeledPayload({ ...repoRef(), issue: { number: issue, title: 'x' }, label: 'tinyb', sender: { login: 'alice' } }), { secret: null });
    expect(unsigned.status).toBe(401);
    const wrongSecret = await deliver('issues', labeledAgain, { secret: 'not-the-webhook-secret-0123' });
    expect(wrongSecret.status).toBe(401);

    await finalComment(issue, `gh-${original.deliveryId}`);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(github.issueComments('acme', 'app', issue)).toHaveLength(commentsAfterOriginal);
    expect((await triggers.queue.getJobs(['waiting', 'delayed', 'active'])).filter((j) => j.name === 'delivery')).toEqual([]);
    // One pull request in all: the original delivery's; none for eve, none for the replay.
    expect(github.pulls('acme', 'app')).toHaveLength(pullsBefore + 1);
    expect(github.pulls('acme', 'app').filter((p) => p.head.ref.endsWith(original.deliveryId))).toHaveLength(1);
  });
});

describe('end to end: GitHub as a trigger under GitHub App auth', () => {
  const APP = { id: 7117, slug: 'tinyb-triggers' };
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-webhooks-app');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github = await startFakeGitHub({
      token: GITHUB_TOKEN,
      // The app as the README says to set it up: contents and pull requests for the jobs, issues for the triggers.
      app: { ...APP, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), permissions: { contents: 'write', pull_requests: 'write', issues: 'write' } },
    });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo('acme', 'app', { private: true, files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    github.installApp('acme', 'app');
    github.setRole('acme', 'app', 'alice', 'admin');
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-webhooks-app-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET });
    worker = startApp('worker', {
      ...shared,
      // No GITHUB_TOKEN: the worker is the App only.
      GITHUB_APP_ID: String(APP.id),
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\\n'),
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: MODEL_KEY,
      ANTHROPIC_BASE_URL: model.url,
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      TRIGGER_FOLLOW_INTERVAL_MS: '300',
      // No metrics port: another test's worker may hold the default one.
      METRICS_PORT: '0',
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    for (const app of [api, worker]) for (const token of github.installationTokens()) expect(app.output()).not.toContain(token.token);
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  it('a labelled issue gets the bot\'s 👀 and reply, a PR that says Fixes #N, and the reply edited, with tokens scoped to the repository', async () => {
    const issue = github.createIssue('acme', 'app', { title: '[scenario:write] Add a hello file', user: 'alice' });
    const sent = await sendWebhookDelivery(`${baseUrl}/webhooks/github`, {
      event: 'issues',
      payload: issuesLabeledPayload({ githubUrl: github.url, owner: 'acme', repo: 'app', issue: { number: issue, title: '[scenario:write] Add a hello file' }, label: 'TinyB', sender: { login: 'alice' } }),
      secret: WEBHOOK_SECRET,
    });
    expect(sent).toMatchObject({ status: 202, body: { status: 'queued' } });
    const jobId = `gh-${sent.deliveryId}`;
    const bot = `${APP.slug}[bot]`;
    const deadline = Date.now() + 120_000;
    let reply: { body: string; user: string } | undefined;
    while (Date.now() < deadline) {
      reply = github.issueComments('acme', 'app', issue).find((c) => c.body.includes(`job:${jobId}`) && !c.body.includes('is queued'));
      if (reply) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (!reply) throw new Error('the reply was never edited');
    const pr = github.pulls('acme', 'app').find((p) => p.head.ref.endsWith(jobId))!;
    expect(reply).toMatchObject({ user: bot });
    expect(reply.body).toContain(`opened ${pr.htmlUrl}`);
    expect(pr.body.split('\n')).toContain(`Fixes #${issue}`);
    expect(github.reactions('acme', 'app')).toEqual([{ target: { kind: 'issue', number: issue }, content: 'eyes', user: bot }]);
    // The triggers asked for issues and pull_requests on that repository only; the job for contents and pull_requests.
    const asked = github.accessTokenRequests.map((r) => [r.repositories, r.permissions]);
    expect(asked).toContainEqual([['app'], { issues: 'write', pull_requests: 'write' }]);
    expect(asked).toContainEqual([['app'], { contents: 'write', pull_requests: 'write' }]);
    expect(github.accessTokenRequests.every((r) => r.status === 201)).toBe(true);
  });
});
