import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { startRedisCluster, type RedisCluster } from '@tinyb/testkit/redis-cluster';

/**
 * The service on a Redis Cluster: the API and a worker as real processes with REDIS_CLUSTER_NODES pointing at
 * a private three-master cluster (no REDIS_URL host to fall back on), the real claude binary in bubblewrap
 * against the fake model, real git against the fake GitHub. A key layout that crossed slots would fail here
 * with CROSSSLOT in BullMQ's scripts or in the events' transactions.
 */
jest.setTimeout(120_000);

const GITHUB_TOKEN = 'ghp_clusterSecretToken0123456789abcdefAB';
const API_KEY = 'sk-ant-cluster-model-key';

describe('end to end on a Redis Cluster', () => {
  let cluster: RedisCluster;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    [cluster, github, model] = await Promise.all([startRedisCluster(), startFakeGitHub({ token: GITHUB_TOKEN }), startFakeAnthropic({ apiKey: API_KEY })]);
    await github.createRepo('acme', 'app', { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-cluster-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // REDIS_URL names a port nothing listens on: every connection must go through the cluster's nodes.
    const shared = {
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_PREFIX: `tinyb-cluster-${process.pid}`,
      GITHUB_URL: github.url,
      LOG_LEVEL: 'info',
    };
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
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  }, 90_000);

  afterAll(async () => {
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    for (const app of [api, worker]) expect(app?.output() ?? '').not.toContain('CROSSSLOT');
    expect(codes.every((c) => c === 0)).toBe(true);
    await Promise.all([github?.close(), model?.close(), cluster?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
  });

  const submit = async (prompt: string): Promise<string> => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  const readAll = async (jobId: string, lastEventId?: string, onEvent?: (event: JobEvent) => Promise<void>) => {
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { headers: lastEventId ? { 'Last-Event-ID': lastEventId } : {} });
    const frames: { id: string; event: JobEvent }[] = [];
    for await (const m of sseMessages(res)) {
      const event = JSON.parse(m.data) as JobEvent;
      frames.push({ id: m.id ?? '', event });
      await onEvent?.(event);
    }
    return frames;
  };

  it('opens a pull request, and a reconnect with Last-Event-ID loses and repeats nothing', async () => {
    const jobId = await submit('[scenario:multi] Tidy up the docs');
    const frames = await readAll(jobId);
    const types = frames.map((f) => f.event.type);
    expect(types[0]).toBe('job.queued');
    expect(types.at(-1)).toBe('job.succeeded');
    expect(types).toEqual(expect.arrayContaining(['agent.message', 'agent.tool_call', 'pr.created']));
    const last = frames.at(-1)!.event;
    if (last.type !== 'job.succeeded') throw new Error('expected success');
    expect(last.result.outcome).toBe('pr_opened');
    expect(github.pulls('acme', 'app')).toEqual(expect.arrayContaining([expect.objectContaining({ number: last.result.pr?.number })]));

    for (const cut of [1, Math.floor(frames.length / 2), frames.length - 1]) {
      const rest = await readAll(jobId, frames[cut - 1]!.id);
      expect(rest.map((f) => f.id)).toEqual(frames.slice(cut).map((f) => f.id));
    }
    const status = await (await fetch(`${baseUrl}/api/jobs/${jobId}`)).json();
    expect(status).toMatchObject({ state: 'succeeded' });
    const listed = (await (await fetch(`${baseUrl}/api/jobs`)).json()) as { jobs: { id: string }[] };
    expect(listed.jobs.map((j) => j.id)).toContain(jobId);
    expect(await readdir(sandboxRoot)).toEqual([]);
  });

  it('cancels a running job: the cancel reaches its worker over the cluster and the job ends cancelled', async () => {
    const jobId = await submit('[scenario:slow] Take your time');
    const started = Date.now();
    let cancelled = false;
    const frames = await readAll(jobId, undefined, async (event) => {
      if (event.type === 'agent.tool_call' && !cancelled) {
        cancelled = true;
        const res = await fetch(`${baseUrl}/api/jobs/${jobId}`, { method: 'DELETE' });
        expect(res.status).toBe(202);
      }
    });
    expect(Date.now() - started).toBeLessThan(30_000);
    const types = frames.map((f) => f.event.type);
    expect(types).toContain('job.cancel_requested');
    expect(types.at(-1)).toBe('job.cancelled');
    expect(frames).toContainEqual(expect.objectContaining({ event: expect.objectContaining({ type: 'step.completed', step: 'destroy_sandbox' }) }));
  });
});
