import { HOSTILE_REPO_URLS } from '@tinyb/contracts/hostile-repo-urls';
import type { RedisFixture } from '@tinyb/testkit/redis';
import type { ApiConfig } from './create-app.js';
import { startTestApi, type TestApi } from './test-api.js';

type Redis = ReturnType<RedisFixture['connect']>;

/**
 * Every hostile `repo_url` of the shared corpus, sent to the real app on a real Redis: each must be a 400
 * in the error shape, and none may leave a trace in Redis (no job, no event stream, no status).
 */

const config: Omit<ApiConfig, 'githubUrl'> = {
  name: 'tiny-backspace',
  version: '0.0.0-test',
  defaultAgent: 'claude-code',
  sseHeartbeatMs: 1_000,
};

/** The app for one GitHub URL, with one live worker offering claude-code. */
async function startApp(githubUrl: string): Promise<TestApi> {
  const api = await startTestApi({ label: 'api-hostile', config: { ...config, githubUrl } });
  await api.agents.advertise({ workerId: 'w1', agents: [{ name: 'claude-code' }], sandbox: 'local', startedAt: new Date().toISOString() });
  return api;
}

/**
 * Every key under the app's prefix, sorted: a snapshot to compare before and after. No job can be queued
 * without writing here (job hash, wait list, the job's event stream, its idempotency key). BullMQ's own
 * per-queue `meta` hash is left out: each queue writes it once when it connects, whatever the requests.
 */
async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...found.filter((k) => !k.endsWith(':meta')));
  } while (cursor !== '0');
  return keys.sort();
}

/** The queue's job count over every state, as its Prometheus export reports it (one family per BullMQ queue). */
async function jobCount(queue: TestApi['queue']): Promise<number> {
  const counts = [...(await queue.exportMetrics()).matchAll(/^bullmq_job_count\{[^}]*\} (\d+)$/gm)];
  expect(counts.length).toBeGreaterThan(0); // the count is really there, not read as 0 from nothing
  return counts.reduce((sum, m) => sum + Number(m[1]), 0);
}

/** What is wrong with an answer that should be a 400 in the error shape, or null when it is one. */
async function notA400(res: Response): Promise<string | null> {
  // An accepted POST /code answers with an endless event stream: judge it by its status, unread.
  if (res.status !== 400) {
    await res.body?.cancel();
    return `status ${res.status} (${res.headers.get('content-type')})`;
  }
  const text = await res.text();
  if (!res.headers.get('content-type')?.startsWith('application/json')) return `content-type ${res.headers.get('content-type')}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  const error = (body as { error?: unknown }).error as Record<string, unknown> | undefined;
  const shaped =
    typeof body === 'object' &&
    body !== null &&
    Object.keys(body).join() === 'error' &&
    typeof error === 'object' &&
    error !== null &&
    Object.keys(error).sort().join() === 'code,message' &&
    (error['code'] === 'invalid_repo_url' || error['code'] === 'invalid_request') &&
    typeof error['message'] === 'string' &&
    error['message'].length > 0;
  return shaped ? null : `not the error shape: ${text.slice(0, 200)}`;
}

const bases = [...new Set(HOSTILE_REPO_URLS.map((e) => e.githubUrl))];

describe.each(bases)('hostile repo_urls against an API configured for %s', (githubUrl) => {
  const corpus = HOSTILE_REPO_URLS.filter((e) => e.githubUrl === githubUrl);
  let app: TestApi;

  beforeAll(async () => {
    app = await startApp(githubUrl);
  });
  afterAll(() => app.close());

  const routes: [string, string, (url: string) => Record<string, unknown>][] = [
    ['POST /api/jobs', '/api/jobs', (url) => ({ repo_url: url, prompt: 'Add a README' })],
    ['POST /code (repoUrl)', '/code', (url) => ({ repoUrl: url, prompt: 'Add a README' })],
    ['POST /code (repo_url)', '/code', (url) => ({ repo_url: url, prompt: 'Add a README' })],
    ['POST /api/code (repoUrl)', '/api/code', (url) => ({ repoUrl: url, prompt: 'Add a README' })],
  ];

  it.each(routes)('%s answers every entry with a 400 in the error shape and stores nothing', async (_name, path, bodyFor) => {
    const keysBefore = await keysUnder(app.redis, app.fixture.prefix);
    expect(keysBefore.length).toBeGreaterThan(0); // the advertised worker, so the snapshot is of the right place
    const failures: string[] = [];
    for (const { url, why } of corpus) {
      const res = await fetch(`${app.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bodyFor(url)),
      });
      const problem = await notA400(res);
      if (problem) failures.push(`${why} ${JSON.stringify(url.slice(0, 100))}: ${problem}`);
    }
    expect(failures).toEqual([]);
    expect(await jobCount(app.queue)).toBe(0);
    expect(await keysUnder(app.redis, app.fixture.prefix)).toEqual(keysBefore);
  });

  it('still accepts the canonical URL on the same app (the refusals above are about the URL, not the app)', async () => {
    const url = `${githubUrl}/octo/hello`;
    const res = await fetch(`${app.baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: url, prompt: 'Add a README' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    expect((await app.queue.getJob(id))?.data).toMatchObject({ repo: { owner: 'octo', name: 'hello', url } });
    expect(await jobCount(app.queue)).toBe(1);
  });
});
