import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { hashApiKey, parseApiKeys } from '@tinyb/auth';
import { TinyBackspaceClient, sseMessages } from '@tinyb/client';
import type { JobList } from '@tinyb/contracts';
import { RedisSubmitRateLimiter, WorkerRegistry } from '@tinyb/queue';
import { freePort, startApp, waitForHttp, workspaceRoot, type AppProcess } from '@tinyb/testkit/app-process';
import { RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import type { ApiConfig } from './create-app.js';
import { startTestApi, type TestApi } from './test-api.js';

const KEYS = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdef', admin: 'admin-token-0123456789abcdef' };
const API_KEYS = `alice:${hashApiKey(KEYS.alice)},bob:${hashApiKey(KEYS.bob)}`;
const REPO = 'https://github.com/acme/app';
const config: ApiConfig = {
  name: 'tiny-backspace',
  version: '0.0.0-test',
  githubUrl: 'https://github.com',
  defaultAgent: 'claude-code',
  sseHeartbeatMs: 50,
  apiToken: KEYS.admin,
  apiKeys: parseApiKeys(API_KEYS),
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
type ErrorBody = { error: { code: string; message: string } };

describe('API with tenants (API_KEYS) and an admin (API_TOKEN), on a real Redis', () => {
  let api: TestApi;
  let queue: TestApi['queue'];
  let events: TestApi['events'];
  let baseUrl: string;

  const start = async (overrides: Partial<ApiConfig> = {}, submitsPerMinute = 0) => {
    api = await startTestApi({
      label: 'tenants',
      config: { ...config, ...overrides },
      deps: ({ redis, fixture, queue }) => {
        const board = new ExpressAdapter();
        board.setBasePath('/admin/queues');
        createBullBoard({ queues: queue.queues.map((q) => new BullMQAdapter(q)), serverAdapter: board });
        return {
          adminRouter: board.getRouter(),
          ...(submitsPerMinute > 0 ? { rateLimiter: new RedisSubmitRateLimiter({ redis, prefix: fixture.prefix, submitsPerMinute }) } : {}),
        };
      },
    });
    await api.agents.advertise({ workerId: 'w1', agents: [{ name: 'claude-code' }], sandbox: 'local', startedAt: new Date().toISOString() });
    ({ queue, events, baseUrl } = api);
  };

  afterEach(() => api.close());

  const as = (key: string) => new TinyBackspaceClient({ baseUrl, apiKey: key });
  const call = (path: string, init: RequestInit & { key?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key) headers.set('authorization', `Bearer ${init.key}`);
    return fetch(`${baseUrl}${path}`, { ...init, headers });
  };
  const submit = (key: string, extra: Record<string, string> = {}, body: unknown = { repo_url: REPO, prompt: 'x' }) =>
    call('/api/jobs', { method: 'POST', key, headers: { 'content-type': 'application/json', ...extra }, body: JSON.stringify(body) });
  const submitId = async (key: string) => {
    const res = await submit(key);
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };
  const list = async (key: string, query = '') => {
    const res = await call(`/api/jobs${query}`, { key });
    expect(res.status).toBe(200);
    return (await res.json()) as JobList;
  };

  describe('isolation', () => {
    beforeEach(() => start());

    it('answers 401 with the error shape and a Bearer challenge for a missing or wrong key', async () => {
      const wrong = [undefined, 'not-a-key', hashApiKey(KEYS.alice), `${KEYS.alice}x`, KEYS.alice.slice(0, -1)];
      for (const key of wrong) {
        for (const [path, method] of [['/api/jobs', 'GET'], ['/api/jobs', 'POST'], ['/api/jobs/x', 'GET'], ['/api/agents', 'GET'], ['/code', 'POST']] as const) {
          const res = await call(path, { method, ...(key ? { key } : {}) });
          expect(res.status).toBe(401);
          expect(res.headers.get('www-authenticate')).toBe('Bearer');
          expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: expect.stringMatching(/API key/) } });
        }
      }
      // Basic auth is for Bull Board only: the API wants a Bearer key.
      const basic = await call('/api/jobs', { headers: { authorization: `Basic ${Buffer.from(`x:${KEYS.alice}`).toString('base64')}` } });
      expect(basic.status).toBe(401);
      expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    });

    it("gives another tenant exactly an unknown id's 404 for status, events and cancel; the owner and the admin get the job", async () => {
      const aliceJob = await submitId(KEYS.alice);
      const status = await as(KEYS.alice).status(aliceJob);
      expect(status).toMatchObject({ id: aliceJob, tenant: 'alice', state: 'queued' });
      expect((await queue.getJob(aliceJob))?.data).toMatchObject({ tenant: 'alice' });

      const unknown = 'no-such-job-0000';
      for (const [suffix, method] of [['', 'GET'], ['/events', 'GET'], ['', 'DELETE']] as const) {
        const foreign = await call(`/api/jobs/${aliceJob}${suffix}`, { method, key: KEYS.bob });
        const missing = await call(`/api/jobs/${unknown}${suffix}`, { method, key: KEYS.bob });
        expect([foreign.status, missing.status]).toEqual([404, 404]);
        const [foreignBody, missingBody] = (await Promise.all([foreign.json(), missing.json()])) as ErrorBody[];
        expect(foreignBody).toEqual({ error: { code: 'not_found', message: `no job with id ${aliceJob}` } });
        expect(missingBody).toEqual({ error: { code: 'not_found', message: `no job with id ${unknown}` } });
        expect(foreign.headers.get('content-type')).toBe(missing.headers.get('content-type'));
      }
      // Bob's cancel did nothing.
      expect(await queue.isCancelRequested(aliceJob)).toBe(false);
      expect((await as(KEYS.alice).status(aliceJob)).cancelRequested).toBe(false);

      // The admin sees it, follows it and may cancel it.
      expect((await as(KEYS.admin).status(aliceJob)).tenant).toBe('alice');
      const stream = await call(`/api/jobs/${aliceJob}/events`, { key: KEYS.admin });
      expect(stream.status).toBe(200);
      const cancel = await call(`/api/jobs/${aliceJob}`, { method: 'DELETE', key: KEYS.admin });
      expect(cancel.status).toBe(202);
      const types: string[] = [];
      for await (const m of sseMessages(stream)) types.push(m.event ?? '');
      expect(types).toEqual(['job.queued', 'job.cancel_requested', 'job.cancelled']);
      // The owner can follow its own job too.
      const own: string[] = [];
      for await (const { event } of as(KEYS.alice).events(aliceJob)) own.push(event.type);
      expect(own).toEqual(['job.queued', 'job.cancel_requested', 'job.cancelled']);
    });

    it("keeps idempotency keys per tenant: the same key from another tenant makes that tenant's own job", async () => {
      const a = await submit(KEYS.alice, { 'Idempotency-Key': 'same-key' });
      const b = await submit(KEYS.bob, { 'Idempotency-Key': 'same-key' });
      expect([a.status, b.status]).toEqual([202, 202]);
      const [ja, jb] = (await Promise.all([a.json(), b.json()])) as { id: string }[];
      expect(jb!.id).not.toBe(ja!.id);
      expect((await as(KEYS.bob).status(jb!.id)).tenant).toBe('bob');
    });

    it("lists only the caller's jobs, newest first, filtered by state, in cursor pages; the admin lists all", async () => {
      const alice: string[] = [];
      const bob: string[] = [];
      for (let i = 0; i < 5; i++) {
        alice.unshift(await submitId(KEYS.alice));
        bob.unshift(await submitId(KEYS.bob));
        await sleep(2);
      }
      // Two of alice's jobs end: one succeeds with a PR, one is cancelled.
      await events.publish(alice[1]!, { type: 'job.started', attempt: 1, workerId: 'w1' });
      await events.publish(alice[1]!, {
        type: 'job.succeeded',
        result: { outcome: 'pr_opened', pr: { url: 'https://github.com/acme/app/pull/9', number: 9, branch: 'b' }, filesChanged: [], summary: 's' },
      });
      expect((await call(`/api/jobs/${alice[3]}`, { method: 'DELETE', key: KEYS.alice })).status).toBe(202);

      const all = await list(KEYS.alice);
      expect(all.jobs.map((j) => j.id)).toEqual(alice);
      expect(all.next_cursor).toBeNull();
      expect(all.jobs[1]).toEqual({
        id: alice[1],
        state: 'succeeded',
        agent: 'claude-code',
        repoUrl: REPO,
        createdAt: expect.any(String),
        finishedAt: expect.any(String),
        prUrl: 'https://github.com/acme/app/pull/9',
        tenant: 'alice',
      });
      expect(all.jobs[0]).toMatchObject({ state: 'queued', finishedAt: null, prUrl: null });

      // Pages of two: 2, 2, 1, each following the last, none repeated.
      const pages: string[][] = [];
      let cursor: string | null = null;
      do {
        const page: JobList = await as(KEYS.alice).listJobs({ limit: 2, ...(cursor ? { cursor } : {}) });
        pages.push(page.jobs.map((j) => j.id));
        cursor = page.next_cursor;
      } while (cursor);
      expect(pages).toEqual([alice.slice(0, 2), alice.slice(2, 4), alice.slice(4)]);

      expect((await list(KEYS.alice, '?state=queued')).jobs.map((j) => j.id)).toEqual([alice[0], alice[2], alice[4]]);
      expect((await list(KEYS.alice, '?state=cancelled')).jobs.map((j) => j.id)).toEqual([alice[3]]);
      expect((await list(KEYS.bob)).jobs.map((j) => j.id)).toEqual(bob);

      const admin = await list(KEYS.admin, '?limit=100');
      expect(new Set(admin.jobs.map((j) => j.id))).toEqual(new Set([...alice, ...bob]));
      expect(admin.jobs.map((j) => j.createdAt)).toEqual([...admin.jobs.map((j) => j.createdAt)].sort().reverse());
      expect(new Set(admin.jobs.map((j) => j.tenant))).toEqual(new Set(['alice', 'bob']));
      expect((await list(KEYS.alice, '?limit=1')).jobs).toHaveLength(1);
    });

    it.each([
      ['?limit=0', /limit/],
      ['?limit=101', /limit/],
      ['?limit=abc', /limit/],
      ['?state=done', /state/],
      ['?cursor=bogus', /cursor/],
      ['?limit=1&limit=2', /limit/],
    ])('refuses GET /api/jobs%s with a 400', async (query, message) => {
      const res = await call(`/api/jobs${query}`, { key: KEYS.alice });
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as ErrorBody;
      expect(error.code).toBe('invalid_request');
      expect(error.message).toMatch(message);
    });

    it('opens Bull Board only with the admin key: Basic auth for browsers, or Bearer', async () => {
      const anonymous = await fetch(`${baseUrl}/admin/queues`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="tiny-backspace"/);
      expect(((await anonymous.json()) as ErrorBody).error.code).toBe('unauthorized');
      const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` });
      expect((await fetch(`${baseUrl}/admin/queues`, { headers: basic(KEYS.alice) })).status).toBe(401);
      expect((await fetch(`${baseUrl}/admin/queues`, { headers: basic('wrong') })).status).toBe(401);
      const admin = await fetch(`${baseUrl}/admin/queues`, { headers: basic(KEYS.admin) });
      expect(admin.status).toBe(200);
      expect(await admin.text()).toMatch(/<html/i);
      expect((await call('/admin/queues', { key: KEYS.admin })).status).toBe(200);
    });

    it('applies the same rules to POST /code: 401 without a key, the job owned by the caller', async () => {
      const body = JSON.stringify({ repoUrl: REPO, prompt: 'x' });
      const refused = await call('/code', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(refused.status).toBe(401);
      const controller = new AbortController();
      const res = await call('/code', { method: 'POST', key: KEYS.bob, headers: { 'content-type': 'application/json' }, body, signal: controller.signal });
      expect(res.status).toBe(200);
      const jobId = res.headers.get('x-job-id')!;
      controller.abort();
      expect((await as(KEYS.bob).status(jobId)).tenant).toBe('bob');
      expect((await call(`/api/jobs/${jobId}`, { key: KEYS.alice })).status).toBe(404);
    });
  });

  describe('rate limit', () => {
    beforeEach(() => start({}, 3));

    it('refuses the fourth submit of a minute with 429, Retry-After and RateLimit-*, for that tenant only', async () => {
      for (let i = 0; i < 3; i++) {
        const ok = await submit(KEYS.alice);
        expect(ok.status).toBe(202);
        expect(ok.headers.get('ratelimit-limit')).toBe('3');
        expect(ok.headers.get('ratelimit-remaining')).toBe(String(2 - i));
      }
      const refused = await submit(KEYS.alice);
      expect(refused.status).toBe(429);
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers.get('ratelimit-limit')).toBe('3');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      expect(Number(refused.headers.get('ratelimit-reset'))).toBe(retryAfter);
      expect(await refused.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/3 per minute/) } });
      expect((await list(KEYS.alice)).jobs).toHaveLength(3);

      // Bob has his own budget; the admin is not limited.
      expect((await submit(KEYS.bob)).status).toBe(202);
      expect((await submit(KEYS.admin)).status).toBe(202);
      // The seed-compatible route counts against the same budget and refuses the same way.
      const legacy = await call('/code', { method: 'POST', key: KEYS.alice, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ repoUrl: REPO, prompt: 'x' }) });
      expect(legacy.status).toBe(429);
      expect(legacy.headers.get('retry-after')).not.toBeNull();
      expect(((await legacy.json()) as ErrorBody).error.code).toBe('rate_limited');
    });

    it('does not count or refuse an idempotent replay', async () => {
      const first = await submit(KEYS.alice, { 'Idempotency-Key': 'k1' });
      expect(first.status).toBe(202);
      await submit(KEYS.alice);
      await submit(KEYS.alice);
      expect((await submit(KEYS.alice)).status).toBe(429);
      const replay = await submit(KEYS.alice, { 'Idempotency-Key': 'k1' });
      expect(replay.status).toBe(200);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(((await replay.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
      // A refused submit with a new key leaves the key free: its retry after the window can create the job.
      const refusedWithKey = await submit(KEYS.alice, { 'Idempotency-Key': 'k2' });
      expect(refusedWithKey.status).toBe(429);
      expect((await list(KEYS.alice)).jobs).toHaveLength(3);
    });
  });

  describe('active-job cap', () => {
    beforeEach(() => start({ maxActiveJobsPerTenant: 2 }));

    it('counts queued and running jobs, refuses past the cap with 429, and frees a slot when a job ends', async () => {
      const first = await submitId(KEYS.alice);
      const second = await submitId(KEYS.alice);
      await events.publish(second, { type: 'job.started', attempt: 1, workerId: 'w1' });
      const refused = await submit(KEYS.alice);
      expect(refused.status).toBe(429);
      expect(await refused.json()).toEqual({ error: { code: 'too_many_active_jobs', message: expect.stringMatching(/2 jobs queued or running/) } });
      // Bob is not affected, nor the admin.
      expect((await submit(KEYS.bob)).status).toBe(202);
      expect((await submit(KEYS.admin)).status).toBe(202);

      // The running job fails: its slot is free.
      await events.publish(second, { type: 'job.failed', error: { code: 'agent_failed', message: 'x' } });
      const third = await submitId(KEYS.alice);
      expect((await submit(KEYS.alice)).status).toBe(429);
      // Cancelling the queued one frees another.
      expect((await call(`/api/jobs/${first}`, { method: 'DELETE', key: KEYS.alice })).status).toBe(202);
      await submitId(KEYS.alice);
      expect((await submit(KEYS.alice)).status).toBe(429);
      // A success frees one too.
      await events.publish(third, { type: 'job.succeeded', result: { outcome: 'no_changes', filesChanged: [], summary: '' } });
      expect((await submit(KEYS.alice)).status).toBe(202);
      expect(await events.listJobs({ tenant: 'alice', state: 'queued', limit: 10 }).then((p) => p.jobs.length)).toBe(2);
    });

    it('lets an idempotent replay through at the cap', async () => {
      const first = await submit(KEYS.alice, { 'Idempotency-Key': 'replayed' });
      await submitId(KEYS.alice);
      expect((await submit(KEYS.alice)).status).toBe(429);
      const replay = await submit(KEYS.alice, { 'Idempotency-Key': 'replayed' });
      expect(replay.status).toBe(200);
      expect(((await replay.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
    });

    it('admits no more than the cap among concurrent submits', async () => {
      const statuses = await Promise.all(Array.from({ length: 8 }, () => submit(KEYS.alice).then((r) => r.status)));
      expect(statuses.filter((s) => s === 202)).toHaveLength(2);
      expect(statuses.filter((s) => s === 429)).toHaveLength(6);
    });
  });
});

describe('tinyb list against a real API process', () => {
  let fixture: RedisFixture;
  let api: AppProcess | undefined;

  beforeAll(() => {
    fixture = new RedisFixture('tinyb-list');
  });
  afterAll(async () => {
    await api?.stop();
    await fixture.cleanup();
  });

  it("prints the caller's jobs only", async () => {
    const redis = fixture.connect();
    await new WorkerRegistry({ redis, prefix: fixture.prefix }).advertise({
      workerId: 'w1',
      agents: [{ name: 'claude-code' }],
      sandbox: 'local',
      startedAt: new Date().toISOString(),
    });
    const port = await freePort();
    api = startApp('api', {
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: fixture.prefix,
      API_TOKEN: KEYS.admin,
      API_KEYS,
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/health`);
    const aliceJob = (await new TinyBackspaceClient({ baseUrl: url, apiKey: KEYS.alice }).submit({ repo_url: REPO, prompt: 'alice' })).id;
    const bobJob = (await new TinyBackspaceClient({ baseUrl: url, apiKey: KEYS.bob }).submit({ repo_url: 'https://github.com/acme/other', prompt: 'bob' })).id;

    const tinyb = (env: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [join(workspaceRoot(), 'apps/cli/bin/tinyb.js'), ...args], {
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TINYB_URL: url, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const asAlice = tinyb({ TINYB_API_KEY: KEYS.alice }, 'list');
    expect(asAlice.status).toBe(0);
    const lines = asAlice.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATE\s+AGENT\s+AGE\s+REPO\s+PR$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${aliceJob}\\s+queued\\s+claude-code\\s+\\d+s\\s+github.com/acme/app\\s+-$`));
    expect(asAlice.stdout).not.toContain(bobJob);

    const asBob = tinyb({}, 'list', '--api-key', KEYS.bob, '--json');
    expect(asBob.status).toBe(0);
    expect((JSON.parse(asBob.stdout) as JobList).jobs.map((j) => j.id)).toEqual([bobJob]);

    const asAdmin = tinyb({ TINYB_TOKEN: KEYS.admin }, 'list');
    expect(asAdmin.stdout).toContain(aliceJob);
    expect(asAdmin.stdout).toContain(bobJob);

    const noKey = tinyb({}, 'list');
    expect(noKey.status).toBe(1);
    expect(noKey.stderr).toMatch(/unauthorized/);
    expect(api.output()).not.toMatch(/the API is open/);
  }, 90_000);
});
