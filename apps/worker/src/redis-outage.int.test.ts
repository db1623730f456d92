import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { startRedisServer, type RedisServer } from '@tinyb/testkit/redis-server';

/**
 * Redis stops in the middle of a job and comes back: the API answers 503 at once instead of hanging, an open
 * event stream stays open and then delivers every event exactly once, the workers finish the job, and nothing
 * needs a restart. A private redis-server with AOF, really shut down and started again on the same port and dir.
 */
jest.setTimeout(90_000);

const GITHUB_TOKEN = 'ghp_outageSecretToken0123456789abcdefABCD';
const API_KEY = 'sk-ant-outage-model-key';
const OUTAGE_MS = 4_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Frame {
  id: string;
  event: JobEvent;
}

describe('a Redis outage in the middle of a job', () => {
  let redis: RedisServer;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let sandboxRoot: string;
  let baseUrl: string;
  const apps: AppProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisServer();
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: API_KEY });
    await github.createRepo('acme', 'app', { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-outage-sandboxes-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: redis.url, REDIS_PREFIX: 'tinyb-outage', GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    apps.push(startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '500', JOB_BACKOFF_MS: '200' }));
    const workerEnv = {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '1',
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
    };
    const workers = [startApp('worker', workerEnv), startApp('worker', workerEnv)];
    apps.push(...workers);
    await Promise.all([waitForHttp(`${baseUrl}/ready`), ...workers.map((w) => w.waitForOutput('worker started', 60_000))]);
  });

  afterAll(async () => {
    let codes: (number | null)[] = [];
    try {
      // Redis first, so processes that are still connected shut down against a live server.
      if (redis && !redis.running) await redis.start().catch(() => undefined);
      codes = await Promise.all(apps.map((app) => app.stop('SIGTERM', 10_000)));
    } finally {
      await Promise.all([github?.close(), model?.close()]);
      if (sandboxRoot) await rm(sandboxRoot, { recursive: true, force: true });
      await redis?.close();
    }
    for (const app of apps) expect(app.output()).not.toContain(GITHUB_TOKEN);
    // Every process, having lived through the outage, still shuts down cleanly.
    expect(codes).toEqual(apps.map(() => 0));
  });

  const submit = async (prompt: string) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  /** Reads a job's whole stream with a fresh client. */
  const history = async (jobId: string): Promise<Frame[]> => {
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { signal: AbortSignal.timeout(30_000) });
    const frames: Frame[] = [];
    for await (const m of sseMessages(res)) frames.push({ id: m.id ?? '', event: JSON.parse(m.data) as JobEvent });
    return frames;
  };

  /** One request while Redis is down: how long it took and what it said. */
  const duringOutage = async (method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) => {
    const started = Date.now();
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...init.headers },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const body: unknown = await res.json();
    return { route: `${method} ${path}`, ms: Date.now() - started, status: res.status, retryAfter: res.headers.get('retry-after'), body };
  };

  /** Ends the live client's stream if the test fails half-way, so nothing keeps jest waiting. */
  let liveClient: AbortController;
  afterEach(() => liveClient.abort());

  it('answers 503 at once, keeps the open stream alive, and delivers the whole job once Redis is back', async () => {
    liveClient = new AbortController();
    const jobId = await submit('[scenario:ticks] Tick along, then write the file');

    // A live client, following the job; the raw branch sees the heartbeat comments the parser drops.
    const stream = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { signal: liveClient.signal });
    const [parsed, raw] = stream.body!.tee();
    const live: Frame[] = [];
    const pings: number[] = [];
    let streamEndedAt: number | undefined;
    const following = (async () => {
      for await (const m of sseMessages(new Response(parsed))) live.push({ id: m.id ?? '', event: JSON.parse(m.data) as JobEvent });
      streamEndedAt = Date.now();
    })();
    // Settled by the abort in afterEach when the test fails early; awaited below otherwise.
    following.catch(() => undefined);
    const heartbeats = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of raw) {
        const count = decoder.decode(chunk, { stream: true }).match(/^: ping$/gm)?.length ?? 0;
        for (let i = 0; i < count; i++) pings.push(Date.now());
      }
    })();
    heartbeats.catch(() => undefined);

    // Stop Redis once the agent is at work (its first tick has come back).
    const deadline = Date.now() + 45_000;
    while (!live.some((f) => f.event.type === 'agent.tool_result')) {
      if (Date.now() > deadline || streamEndedAt !== undefined) {
        throw new Error(`the job never reached its first tool result: ${JSON.stringify(live.map((f) => f.event))}\n${apps[1]!.output().slice(-3_000)}`);
      }
      await sleep(50);
    }
    await redis.stop();
    const downAt = Date.now();

    // /ready notices within a second.
    let readyDownMs: number | undefined;
    while (readyDownMs === undefined && Date.now() - downAt < 3_000) {
      const res = await fetch(`${baseUrl}/ready`);
      if (res.status === 503) readyDownMs = Date.now() - downAt;
      else await sleep(50);
    }
    expect(readyDownMs).toBeLessThan(1_000);
    // Past the API's one-second cache of the workers' agents, so /api/agents really asks Redis.
    await sleep(1_100);

    const answers = [];
    for (const [method, path, init] of [
      ['POST', '/api/jobs', { body: { repo_url: `${github.url}/acme/app`, prompt: 'during the outage' } }],
      ['POST', '/api/jobs', { body: { repo_url: `${github.url}/acme/app`, prompt: 'during the outage' }, headers: { 'Idempotency-Key': 'outage-1' } }],
      ['GET', `/api/jobs/${jobId}`, {}],
      ['DELETE', '/api/jobs/not-this-job', {}],
      ['GET', '/api/agents', {}],
      ['GET', `/api/jobs/${jobId}/events`, {}],
      ['POST', '/code', { body: { repoUrl: `${github.url}/acme/app`, prompt: 'during the outage' } }],
      ['GET', '/metrics', {}],
    ] as const) {
      answers.push(await duringOutage(method, path, init));
    }
    const ready = await duringOutage('GET', '/ready');
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, retryAfter: '2', body: { error: { code: 'unavailable', message: expect.any(String) } } });
      expect(answer.ms).toBeLessThan(2_000);
    }
    expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable', redis: false } });
    expect(ready.ms).toBeLessThan(2_000);

    await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
    // The open stream is still open, and its heartbeats kept coming.
    expect(streamEndedAt).toBeUndefined();
    expect(pings.filter((t) => t > downAt + 500).length).toBeGreaterThanOrEqual(4);
    const seenBeforeRestart = live.length;

    await redis.start();
    const upAt = Date.now();
    await waitForHttp(`${baseUrl}/ready`, 10_000);
    const readyUpMs = Date.now() - upAt;
    expect(readyUpMs).toBeLessThan(3_000);

    // The job finishes by itself and the live client saw all of it.
    await Promise.race([following, sleep(45_000).then(() => Promise.reject(new Error(`stream did not end: ${JSON.stringify(live.map((f) => f.event.type))}`)))]);
    await heartbeats;
    const full = await history(jobId);
    expect(live.map((f) => f.id)).toEqual(full.map((f) => f.id));
    expect(live.map((f) => f.event)).toEqual(full.map((f) => f.event));
    expect(new Set(live.map((f) => f.id)).size).toBe(live.length);
    const last = live.at(-1)!.event;
    expect(last).toMatchObject({ type: 'job.succeeded', result: { outcome: 'pr_opened' } });
    expect(live.length).toBeGreaterThan(seenBeforeRestart);
    // Every tick arrived once, in order, whether it ran before, during or after the outage.
    const ticks = live.flatMap((f) => (f.event.type === 'agent.tool_call' && f.event.tool === 'Bash' ? [JSON.stringify(f.event.input)] : []));
    expect(ticks).toHaveLength(6);
    ticks.forEach((t, i) => expect(t).toContain(`tick-${i + 1}`));
    // The worker kept working while Redis was down: events stamped during the outage were flushed afterwards.
    const stampedDuringOutage = live.filter((f) => Date.parse(f.event.at) > downAt && Date.parse(f.event.at) < upAt);
    expect(stampedDuringOutage.length).toBeGreaterThan(0);

    // Nothing needed a restart: a new job goes through the queue and a worker as before.
    const after = await submit('[scenario:noop] Nothing to do');
    const afterFrames = await history(after);
    expect(afterFrames.at(-1)!.event).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });

    // eslint-disable-next-line no-console -- the measured figures, for the README's reliability notes
    console.log(JSON.stringify({ readyDownMs, readyUpMs, maxOutageAnswerMs: Math.max(...answers.map((a) => a.ms), ready.ms), eventsDuringOutage: stampedDuringOutage.length, events: live.length }));
  });
});
