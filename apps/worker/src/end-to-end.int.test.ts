import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TinyBackspaceClient, sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * The whole service as a user runs it: the API and a worker as real processes, the real claude binary in
 * real bubblewrap sandboxes against the fake model, real Octokit and git against the fake GitHub.
 */
jest.setTimeout(120_000);

const GITHUB_TOKEN = 'ghp_e2eSecretToken0123456789abcdefABCDEF';
const API_KEY = 'sk-ant-e2e-model-key';

describe('end to end: prompt → pull request', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  /** Two workers on the same Redis; tests that stop one start a replacement. */
  const workers: AppProcess[] = [];
  let stoppedCodes: (number | null)[] = [];
  let sandboxRoot: string;
  let baseUrl: string;
  let client: TinyBackspaceClient;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: API_KEY });
    await github.createRepo('acme', 'app', {
      private: true,
      files: {
        'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`,
        [FAKE_FILES.obsoletePath]: 'old\n',
        'scripts/run.sh': { content: '#!/bin/sh\necho run\n', mode: '100755' },
      },
    });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-sandboxes-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = {
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: fixture.prefix,
      GITHUB_URL: github.url,
      LOG_LEVEL: 'info',
    };
    api = startApp('api', {
      ...shared,
      PORT: String(port),
      HOST: '127.0.0.1',
      SSE_HEARTBEAT_MS: '1000',
      JOB_BACKOFF_MS: '200',
    });
    startWorker = () => {
      const worker = startApp('worker', {
        ...shared,
        GITHUB_TOKEN,
        GITHUB_API_URL: github.apiUrl,
        GITHUB_THROTTLE: 'false',
        GITHUB_RETRIES: '0',
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: model.url,
        WORKER_CONCURRENCY: '2',
        // Long enough for a short job to finish under load (the hand-back test waits it out once), and
        // shorter than AppProcess.stop's 15 s before SIGKILL.
        WORKER_SHUTDOWN_TIMEOUT_MS: '10000',
        SANDBOX_ROOT: sandboxRoot,
        AGENT_TIMEOUT_MS: '60000',
      });
      workers.push(worker);
      return worker;
    };
    const initial = [startWorker(), startWorker()];
    await Promise.all([waitForHttp(`${baseUrl}/ready`), ...initial.map((w) => w.waitForOutput('worker started', 60_000))]);
    client = new TinyBackspaceClient({ baseUrl });
  });

  let startWorker: () => AppProcess;
  const workerOf = (workerId: string) => workers.find((w) => workerId.endsWith(`:${w.child.pid}`));

  afterAll(async () => {
    const codes = [...stoppedCodes, ...(await Promise.all([api, ...workers].map((app) => app?.stop())))];
    // Secrets never reach the logs.
    for (const app of [api, ...workers]) {
      expect(app.output()).not.toContain(GITHUB_TOKEN);
      expect(app.output()).not.toContain(API_KEY);
    }
    // Every process, including the workers stopped mid-job, exited cleanly.
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const submit = async (prompt: string, extra: Record<string, unknown> = {}) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt, ...extra }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  /** Reads the job's SSE stream to its end with plain fetch, keeping each frame's id. */
  const readAll = async (jobId: string, lastEventId?: string) => {
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, {
      headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {},
    });
    const frames: { id: string; event: JobEvent }[] = [];
    for await (const m of sseMessages(res)) frames.push({ id: m.id ?? '', event: JSON.parse(m.data) as JobEvent });
    return frames;
  };

  const cloneBranch = (branch: string) => {
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('git', ['clone', '-q', '--branch', branch, github.repoDir('acme', 'app'), dir]);
    return dir;
  };

  it('opens a pull request with exactly the agent\'s changes, streaming every step live', async () => {
    const jobId = await submit('[scenario:multi] Tidy up the docs', { requested_by: '@octocat' });
    const frames = await readAll(jobId);
    const types = frames.map((f) => f.event.type);

    expect(types[0]).toBe('job.queued');
    expect(types.at(-1)).toBe('job.succeeded');
    const steps = frames.flatMap((f) => (f.event.type === 'step.completed' ? [f.event.step] : []));
    expect(steps).toEqual(['create_sandbox', 'clone', 'run_agent', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox']);
    // Agent events arrive inside the run_agent step, in order.
    const agentStart = types.indexOf('step.started', types.indexOf('step.completed', types.indexOf('step.completed') + 1));
    const agentEvents = types.filter((t) => t.startsWith('agent.'));
    expect(agentEvents).toEqual(expect.arrayContaining(['agent.message', 'agent.tool_call', 'agent.tool_result', 'agent.usage']));
    expect(types.indexOf('agent.message')).toBeGreaterThan(agentStart);
    const toolCalls = frames.flatMap((f) => (f.event.type === 'agent.tool_call' ? [f.event.tool] : []));
    expect(toolCalls).toEqual(['Write', 'Read', 'Edit', 'Bash']);

    const succeeded = frames.at(-1)!.event;
    if (succeeded.type !== 'job.succeeded') throw new Error('expected success');
    const { result } = succeeded;
    expect(result.outcome).toBe('pr_opened');
    expect(result.filesChanged).toEqual(
      expect.arrayContaining([
        { path: FAKE_FILES.notesPath, change: 'added' },
        { path: FAKE_FILES.readmePath, change: 'modified' },
        { path: FAKE_FILES.obsoletePath, change: 'deleted' },
      ]),
    );
    expect(result.filesChanged).toHaveLength(3);
    expect(result.usage).toMatchObject({ inputTokens: expect.any(Number), outputTokens: expect.any(Number) });

    // The pull request on the fake GitHub, and the branch's real content.
    const pulls = github.pulls('acme', 'app');
    const pr = pulls.find((p) => p.number === result.pr!.number)!;
    expect(pr).toMatchObject({ state: 'open', base: { ref: 'main' }, head: { ref: `tinyb/${jobId}` } });
    expect(pr.htmlUrl).toBe(result.pr!.url);
    expect(pr.body).toContain(jobId);
    expect(pr.body).toContain(FAKE_FILES.notesPath);
    expect(pr.body).toContain(result.summary);
    expect(pr.body).toContain('requested by @octocat');
    const dir = cloneBranch(`tinyb/${jobId}`);
    expect(await readFile(join(dir, FAKE_FILES.notesPath), 'utf8')).toBe(FAKE_FILES.notesContent);
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe(`# App\n\n${FAKE_FILES.readmeNewLine}\n`);
    await expect(stat(join(dir, FAKE_FILES.obsoletePath))).rejects.toThrow();
    expect((await stat(join(dir, 'scripts/run.sh'))).mode & 0o111).not.toBe(0);
    const parents = execFileSync('git', ['-C', dir, 'log', '--format=%P', '-1']).toString().trim();
    expect(parents).toBe(pr.base.sha);
    await rm(dir, { recursive: true, force: true });

    // Status agrees with the stream.
    expect(await client.status(jobId)).toMatchObject({ state: 'succeeded', step: null, attempt: 1, result });

    // A reconnect with Last-Event-ID loses and repeats nothing.
    for (const cut of [1, Math.floor(frames.length / 2), frames.length - 2]) {
      const rest = await readAll(jobId, frames[cut - 1]!.id);
      expect(rest.map((f) => f.id)).toEqual(frames.slice(cut).map((f) => f.id));
    }
    // Nothing is left of the sandbox.
    expect(await readdir(sandboxRoot)).toEqual([]);
  });

  it('keeps every credential out of the sandbox and seals its network: the probe finds no key, no token, no Redis', async () => {
    const jobId = await submit('[scenario:env-probe] Show me the environment');
    const frames = await readAll(jobId);
    expect(frames.at(-1)!.event).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });

    // The probe really ran, and its raw output (before any redaction: the model's next request carries the
    // tool result as the CLI saw it) went back to the model through the gateway...
    const probe = frames.find((f) => f.event.type === 'agent.tool_result');
    expect(probe?.event).toMatchObject({ ok: true });
    const sentToModel = model.requests.map((r) => r.rawBody).filter((body) => body.includes('remote.origin.url')).join('\n');
    expect(sentToModel).toContain('PATH=');
    // ...showing the gateway's per-attempt token as the CLI's key, and the host's Redis out of reach.
    expect(sentToModel).toMatch(/ANTHROPIC_API_KEY=tbgw_[A-Za-z0-9_-]{20,}/);
    expect(sentToModel).toMatch(/ANTHROPIC_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/anthropic/);
    expect(sentToModel).toContain('redis-probe-exit=1');
    expect(sentToModel).not.toContain('+PONG');
    // Neither the model key nor the GitHub token is anywhere the agent could look, nor in any event or PR.
    for (const secret of [GITHUB_TOKEN, API_KEY]) {
      expect(sentToModel).not.toContain(secret);
      for (const f of frames) expect(JSON.stringify(f.event)).not.toContain(secret);
      expect(github.pulls('acme', 'app').every((p) => !p.body.includes(secret))).toBe(true);
    }
    // The model provider still got every call with the real key, never the token.
    for (const r of model.requests) {
      expect(r.headers['x-api-key']).toBe(API_KEY);
      expect(JSON.stringify(r.headers)).not.toContain('tbgw_');
    }
  });

  it('ends with outcome no_changes, and no pull request, when the agent changes nothing', async () => {
    const before = github.pulls('acme', 'app').length;
    const jobId = await submit('[scenario:noop] Nothing to do here');
    const frames = await readAll(jobId);
    const last = frames.at(-1)!.event;
    expect(last).toMatchObject({
      type: 'job.succeeded',
      result: { outcome: 'no_changes', filesChanged: [], summary: 'Nothing to change.' },
    });
    expect(frames.map((f) => f.event.type)).not.toContain('pr.created');
    expect(github.pulls('acme', 'app')).toHaveLength(before);
  });

  it('cancels a running job: the agent is killed, the sandbox destroyed, the job ends cancelled', async () => {
    // `sleep 60` processes that exist already belong to other tests or runs on this machine, not to this job.
    const sleepsBefore = new Set(pidsRunning('sleep 60'));
    const jobId = await submit('[scenario:slow] Take your time');
    const seen: JobEvent[] = [];
    const started = Date.now();
    for await (const { event } of client.events(jobId)) {
      seen.push(event);
      if (event.type === 'agent.tool_call') {
        const res = await fetch(`${baseUrl}/api/jobs/${jobId}`, { method: 'DELETE' });
        expect(res.status).toBe(202);
        expect(await res.json()).toMatchObject({ status: 'cancelling' });
      }
    }
    expect(Date.now() - started).toBeLessThan(30_000); // not the agent's 60 s sleep
    const types = seen.map((e) => e.type);
    expect(types).toContain('job.cancel_requested');
    expect(types.at(-1)).toBe('job.cancelled');
    expect(types).not.toContain('job.failed');
    expect(seen).toContainEqual(expect.objectContaining({ type: 'step.completed', step: 'destroy_sandbox' }));
    expect(await client.status(jobId)).toMatchObject({ state: 'cancelled', cancelRequested: true });
    expect(await readdir(sandboxRoot)).toEqual([]);
    // No `sleep 60` (the agent's tool) survives: the kernel kills the sandbox's PID namespace with its init,
    // which takes a moment after the sandbox is destroyed.
    await waitFor(() => pidsRunning('sleep 60').every((pid) => sleepsBefore.has(pid)), 5_000, () =>
      `still running: ${pidsRunning('sleep 60').filter((pid) => !sleepsBefore.has(pid)).map(describeProcess).join('; ')}`);
  });

  it('stops the agent when the job passes its token budget, and reports the spending', async () => {
    const jobId = await submit('[scenario:multi] Spend a lot', { max_tokens: 150 });
    const frames = await readAll(jobId);
    const last = frames.at(-1)!.event;
    expect(last).toMatchObject({ type: 'job.failed', error: { code: 'budget_exceeded', step: 'run_agent' } });
    if (last.type !== 'job.failed') throw new Error('expected job.failed');
    expect(last.usage!.inputTokens + last.usage!.outputTokens).toBeGreaterThan(150);
    // Not retried: spending more would not help.
    expect(frames.filter((f) => f.event.type === 'job.started')).toHaveLength(1);
    expect(frames.map((f) => f.event.type)).not.toContain('pr.created');
    expect(await client.status(jobId)).toMatchObject({ state: 'failed', usage: last.usage, error: { code: 'budget_exceeded' } });
    expect(await readdir(sandboxRoot)).toEqual([]);
  });

  it('shares jobs between worker processes', async () => {
    const ids = await Promise.all([1, 2, 3, 4].map((n) => submit(`[scenario:noop] job ${n}`)));
    const workerIds = new Set<string>();
    for (const id of ids) {
      for (const { event } of await readAll(id)) {
        if (event.type === 'job.started') workerIds.add(event.workerId);
        if (event.type === 'job.succeeded') expect(event.result.outcome).toBe('no_changes');
      }
    }
    expect(workerIds.size).toBe(2);
  });

  it('retries a job that failed for a retryable reason into the same branch and a single pull request', async () => {
    const before = github.pulls('acme', 'app').length;
    github.failNext('POST', /\/pulls$/, 503);
    const jobId = await submit('[scenario:write] Add a hello file, second try');
    const frames = await readAll(jobId);
    const types = frames.map((f) => f.event.type);
    const retrying = frames.find((f) => f.event.type === 'job.retrying')?.event;
    expect(retrying).toMatchObject({ attempt: 1, error: { code: 'git_host_failed', step: 'open_pr' }, delayMs: 200 });
    expect(types.filter((t) => t === 'job.started')).toHaveLength(2);
    expect(types.at(-1)).toBe('job.succeeded');
    // Both attempts pushed the same branch; only one pull request exists for it.
    const branch = `tinyb/${jobId}`;
    const pushes = frames.filter((f) => f.event.type === 'step.completed' && f.event.step === 'push_branch');
    expect(pushes).toHaveLength(2);
    const pulls = github.pulls('acme', 'app');
    expect(pulls).toHaveLength(before + 1);
    expect(pulls.filter((p) => p.head.ref === branch)).toHaveLength(1);
    expect(await client.status(jobId)).toMatchObject({ state: 'succeeded', attempt: 2 });
  });

  it('lets a running job finish when its worker gets SIGTERM', async () => {
    const jobId = await submit('[scenario:write] Add a hello file before shutdown');
    let stopping: Promise<number | null> | undefined;
    let holder: string | undefined;
    for await (const { event } of client.events(jobId)) {
      if (event.type === 'job.started') {
        holder = event.workerId;
        const worker = workerOf(event.workerId)!;
        stopping = worker.stop('SIGTERM');
      }
      if (event.type === 'job.succeeded') expect(event.result.outcome).toBe('pr_opened');
    }
    expect((await client.status(jobId)).state).toBe('succeeded');
    stoppedCodes.push(await stopping!);
    workers.splice(workers.indexOf(workerOf(holder!)!), 1);
    expect(stoppedCodes.at(-1)).toBe(0);
    await startWorker().waitForOutput('worker started', 60_000);
  });

  it('hands a job back to the queue when its worker stops for longer than the grace period', async () => {
    const jobId = await submit('[scenario:slow] Outlive the shutdown grace');
    const events: JobEvent[] = [];
    let firstHolder: AppProcess | undefined;
    for await (const { event } of client.events(jobId)) {
      events.push(event);
      if (event.type === 'agent.tool_call' && !firstHolder) {
        const started = events.find((e) => e.type === 'job.started');
        firstHolder = workerOf(started!.type === 'job.started' ? started!.workerId : '')!;
        void firstHolder.stop('SIGTERM').then((code) => stoppedCodes.push(code));
      }
      // The second attempt, on the other worker: cancel it to finish the test.
      if (event.type === 'agent.tool_call' && events.filter((e) => e.type === 'job.started').length === 2) {
        await client.cancel(jobId);
      }
    }
    const starts = events.flatMap((e) => (e.type === 'job.started' ? [e.workerId] : []));
    expect(starts).toHaveLength(2);
    expect(starts[0]).not.toBe(starts[1]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'job.retrying', error: expect.objectContaining({ code: 'worker_lost' }) }));
    expect(events.at(-1)!.type).toBe('job.cancelled');
    workers.splice(workers.indexOf(firstHolder!), 1);
  });

  it('serves the original POST /code stream for the same pipeline', async () => {
    const res = await fetch(`${baseUrl}/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repoUrl: `${github.url}/acme/app`, prompt: '[scenario:write] Add a hello file' }),
    });
    expect(res.status).toBe(200);
    const frames: { type: string; [k: string]: unknown }[] = [];
    for await (const m of sseMessages(res)) frames.push(JSON.parse(m.data) as { type: string });
    const types = frames.map((f) => f.type);
    expect(types).toEqual(expect.arrayContaining(['progress', 'AI Message', 'Tool: Write', 'pr_created', 'complete']));
    expect(types.at(-1)).toBe('complete');
    const created = frames.find((f) => f.type === 'pr_created')!;
    expect(created).toMatchObject({ files_changed: [FAKE_FILES.helloPath], branch_name: expect.stringMatching(/^tinyb\//) });
    const dir = cloneBranch(String(created['branch_name']));
    expect(await readFile(join(dir, FAKE_FILES.helloPath), 'utf8')).toBe(FAKE_FILES.helloContent);
    await rm(dir, { recursive: true, force: true });
  });
});

/** Pids of live processes whose command line is exactly `command`, read from /proc (no dependency on `ps`). */
function pidsRunning(command: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (/\) Z /.test(stat)) return false; // a zombie is dead, only not yet reaped
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() === command;
    } catch {
      return false; // the process ended while we looked
    }
  });
}

function describeProcess(pid: string): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `pid ${pid} ppid ${stat.split(') ')[1]?.split(' ')[1]} pidns ${readlinkSync(`/proc/${pid}/ns/pid`)}`;
  } catch {
    return `pid ${pid} (gone)`;
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number, explain: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms ${explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
