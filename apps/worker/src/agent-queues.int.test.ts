import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { sseMessages } from '@tinyb/client';
import { CODE_JOBS_QUEUE, type CodeJobData, type JobEvent } from '@tinyb/contracts';
import { RedisJobEvents } from '@tinyb/events';
import { CODE_JOB_NAME } from '@tinyb/queue';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * Queues per agent with real processes: jobs submitted while no worker runs wait and then run; a mixed fleet
 * (one worker with only claude-code, one with only gemini) runs each job on a worker that has its agent; a
 * job left in the legacy single queue by an older API still runs.
 */
jest.setTimeout(180_000);

const GITHUB_TOKEN = 'ghp_agentQueuesToken0123456789abcdef';

describe('end to end: one queue per agent', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let api: AppProcess;
  const workers: AppProcess[] = [];
  let sandboxRoot: string;
  let baseUrl: string;
  let shared: Record<string, string>;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-agent-queues');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    await github.createRepo('acme', 'app', {
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    [anthropic, gemini] = await Promise.all([startFakeAnthropic(), startFakeGemini()]);
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-agent-queues-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    shared = { REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    // Only the API at first: no worker runs.
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1' });
    await waitForHttp(`${baseUrl}/ready`);
  });

  afterAll(async () => {
    const codes = await Promise.all([api, ...workers].map((app) => app?.stop()));
    for (const app of [api, ...workers]) {
      for (const secret of [GITHUB_TOKEN, anthropic.apiKey, gemini.apiKey]) expect(app.output()).not.toContain(secret);
    }
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), anthropic?.close(), gemini?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  /** A worker with the credentials of only one agent, as a mixed fleet has. */
  const startWorker = async (agent: 'claude-code' | 'gemini'): Promise<AppProcess> => {
    const credentials: Record<string, string> =
      agent === 'claude-code'
        ? { ANTHROPIC_API_KEY: anthropic.apiKey, ANTHROPIC_BASE_URL: anthropic.url }
        : { GEMINI_API_KEY: gemini.apiKey, GOOGLE_GEMINI_BASE_URL: gemini.url };
    const worker = startApp('worker', {
      ...shared,
      ...credentials,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      SANDBOX_ROOT: sandboxRoot,
      WORKER_CONCURRENCY: '2',
    });
    workers.push(worker);
    await worker.waitForOutput('worker started', 60_000);
    return worker;
  };
  const workerIdOf = (worker: AppProcess) => `:${worker.child.pid}`;

  const submit = async (agent: string, prompt: string) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt, agent }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const eventsOf = async (id: string) => {
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${id}/events`))) events.push(JSON.parse(m.data) as JobEvent);
    return events;
  };
  const agentWorkers = async () =>
    Object.fromEntries(((await (await fetch(`${baseUrl}/api/agents`)).json()) as { agents: { name: string; workers: number }[] }).agents.map((a) => [a.name, a.workers]));

  let waitingClaude: string;
  let waitingGemini: string;
  let legacyJob: string;

  it('accepts jobs while no worker runs: they wait, and the agents show 0 workers', async () => {
    expect(await agentWorkers()).toEqual({ 'claude-code': 0, gemini: 0, openai: 0, codex: 0 });
    waitingClaude = await submit('claude-code', '[scenario:edit] Mark the README as edited');
    waitingGemini = await submit('gemini', '[scenario:edit] Mark the README as edited');
    // And one added the old way, into the legacy single queue, as an API before this change did.
    legacyJob = 'legacy-job-1';
    const redis = fixture.connect();
    const events = new RedisJobEvents({ redis, keyPrefix: fixture.prefix });
    await events.publish(legacyJob, { type: 'job.queued', repoUrl: `${github.url}/acme/app`, agent: 'gemini', draft: false });
    const legacy = new Queue(CODE_JOBS_QUEUE, { connection: redis, prefix: fixture.prefix });
    const data: CodeJobData = {
      repo: { owner: 'acme', name: 'app', url: `${github.url}/acme/app` },
      prompt: '[scenario:edit] Mark the README as edited',
      agent: 'gemini',
      draft: false,
      requestedAt: new Date().toISOString(),
    };
    await legacy.add(CODE_JOB_NAME, data, { jobId: legacyJob, attempts: 3 });
    await legacy.close();
    await events.close();
    await new Promise((r) => setTimeout(r, 500));
    for (const id of [waitingClaude, waitingGemini, legacyJob]) {
      expect(await (await fetch(`${baseUrl}/api/jobs/${id}`)).json()).toMatchObject({ state: 'queued' });
    }
  });

  it('runs every waiting job, each on a worker that has its agent, once workers start; none fails unknown_agent', async () => {
    const [claudeWorker, geminiWorker] = await Promise.all([startWorker('claude-code'), startWorker('gemini')]);
    const ownerOf: Record<string, AppProcess> = { [waitingClaude]: claudeWorker, [waitingGemini]: geminiWorker, [legacyJob]: geminiWorker };
    // More of each, now that the fleet is mixed.
    ownerOf[await submit('claude-code', '[scenario:edit] Mark the README as edited')] = claudeWorker;
    ownerOf[await submit('gemini', '[scenario:edit] Mark the README as edited')] = geminiWorker;

    await Promise.all(
      Object.entries(ownerOf).map(async ([id, owner]) => {
        const events = await eventsOf(id);
        const last = events.at(-1)!;
        if (last.type !== 'job.succeeded') throw new Error(`job ${id} ended ${JSON.stringify(last)}`);
        const started = events.filter((e) => e.type === 'job.started');
        expect(started).toHaveLength(1);
        expect(started[0]!.type === 'job.started' && started[0]!.workerId.endsWith(workerIdOf(owner))).toBe(true);
        expect(JSON.stringify(events)).not.toContain('unknown_agent');
      }),
    );
    expect(await agentWorkers()).toEqual({ 'claude-code': 1, gemini: 1, openai: 0, codex: 0 });
  });
});
