import { TinyBackspaceClient, sseMessages } from '@tinyb/client';
import { MAX_PROMPT_CHARS, type JobEvent, type NewJobEvent } from '@tinyb/contracts';
import type { ApiConfig } from './create-app.js';
import { startTestApi, type TestApi } from './test-api.js';

const config: ApiConfig = {
  name: 'tiny-backspace',
  version: '0.0.0-test',
  githubUrl: 'https://github.com',
  defaultAgent: 'claude-code',
  sseHeartbeatMs: 50,
};
const REPO = 'https://github.com/acme/app';

describe('API against a real Redis (no worker)', () => {
  let api: TestApi;
  let queue: TestApi['queue'];
  let events: TestApi['events'];
  let baseUrl: string;
  let client: TinyBackspaceClient;

  const start = async (overrides: Partial<ApiConfig> = {}) => {
    api = await startTestApi({ label: 'api', config: { ...config, ...overrides } });
    // One live worker offering claude-code, as a worker process would advertise itself.
    await api.agents.advertise({ workerId: 'w1', agents: [{ name: 'claude-code' }], sandbox: 'local', startedAt: new Date().toISOString() });
    ({ queue, events, baseUrl } = api);
    client = new TinyBackspaceClient({ baseUrl, ...(overrides.apiToken ? { apiToken: overrides.apiToken } : {}) });
  };

  afterEach(() => api.close());

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const jobCount = async () => {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  };
  /** Publishes as a worker would. */
  const publish = (jobId: string, ...list: NewJobEvent[]) =>
    list.reduce<Promise<unknown>>((p, e) => p.then(() => events.publish(jobId, e)), Promise.resolve());

  describe('with no token configured', () => {
    beforeEach(() => start());

    it('enqueues a job, records job.queued first, and answers 202 with links', async () => {
      const res = await post('/api/jobs', { repo_url: REPO, prompt: 'Add a README', draft: true });
      expect(res.status).toBe(202);
      const body = (await res.json()) as { id: string; status: string; links: { self: string; events: string } };
      expect(body).toEqual({
        id: expect.any(String),
        status: 'queued',
        links: { self: `/api/jobs/${body.id}`, events: `/api/jobs/${body.id}/events` },
      });
      expect(res.headers.get('location')).toBe(`/api/jobs/${body.id}`);

      const job = await queue.getJob(body.id);
      expect(job?.data).toMatchObject({
        repo: { owner: 'acme', name: 'app', url: REPO },
        prompt: 'Add a README',
        agent: 'claude-code',
        draft: true,
      });
      const status = await client.status(body.id);
      expect(status).toMatchObject({ id: body.id, state: 'queued', step: null, attempt: 0, repoUrl: REPO, agent: 'claude-code' });
    });

    it('lists the known agents with their live workers, and carries budget and requester into the job', async () => {
      const agents = await (await fetch(`${baseUrl}/api/agents`)).json();
      expect(agents).toEqual({
        default: 'claude-code',
        agents: [
          { name: 'claude-code', workers: 1, defaultModels: [], default: true },
          { name: 'gemini', workers: 0, defaultModels: [], default: false },
          { name: 'openai', workers: 0, defaultModels: [], default: false },
          { name: 'codex', workers: 0, defaultModels: [], default: false },
        ],
      });
      const res = await post('/api/jobs', { repo_url: REPO, prompt: 'x', max_cost_usd: 2.5, max_tokens: 1000, requested_by: '@octocat' });
      const { id } = (await res.json()) as { id: string };
      expect((await queue.getJob(id))?.data).toMatchObject({ budget: { maxCostUsd: 2.5, maxTokens: 1000 }, requestedBy: '@octocat' });
    });

    it('returns the same job for the same Idempotency-Key', async () => {
      const first = await post('/api/jobs', { repo_url: REPO, prompt: 'p' }, { 'Idempotency-Key': 'key-1' });
      const second = await post('/api/jobs', { repo_url: REPO, prompt: 'p' }, { 'Idempotency-Key': 'key-1' });
      const other = await post('/api/jobs', { repo_url: REPO, prompt: 'p' }, { 'Idempotency-Key': 'key-2' });
      expect(first.status).toBe(202);
      expect(second.status).toBe(200);
      expect(second.headers.get('idempotent-replayed')).toBe('true');
      const [a, b, c] = (await Promise.all([first.json(), second.json(), other.json()])) as { id: string }[];
      expect(b!.id).toBe(a!.id);
      expect(c!.id).not.toBe(a!.id);
      expect(await jobCount()).toBe(2);
    });

    it.each([
      ['a missing repo_url', { prompt: 'x' }, 'invalid_request', /repo_url/],
      ['a missing prompt', { repo_url: REPO }, 'invalid_request', /prompt/],
      ['a blank prompt', { repo_url: REPO, prompt: '   ' }, 'invalid_request', /prompt/],
      ['a prompt over the limit', { repo_url: REPO, prompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) }, 'invalid_request', /prompt/],
      ['an unknown field', { repo_url: REPO, prompt: 'x', extra: 1 }, 'invalid_request', /extra/],
      ['another host', { repo_url: 'https://gitlab.com/acme/app', prompt: 'x' }, 'invalid_repo_url', /github\.com/],
      ['another scheme', { repo_url: 'http://github.com/acme/app', prompt: 'x' }, 'invalid_repo_url', /github\.com/],
      ['a local address', { repo_url: 'http://127.0.0.1:8080/acme/app', prompt: 'x' }, 'invalid_repo_url', /github\.com/],
      ['localhost', { repo_url: 'https://localhost/acme/app', prompt: 'x' }, 'invalid_repo_url', /github\.com/],
      ['a file URL', { repo_url: 'file:///etc/passwd', prompt: 'x' }, 'invalid_repo_url', /github\.com/],
      ['a relative path', { repo_url: '/srv/repos/app', prompt: 'x' }, 'invalid_repo_url', /absolute URL/],
      ['a path inside a repo', { repo_url: `${REPO}/tree/main/src`, prompt: 'x' }, 'invalid_repo_url', /owner>\/<repo/],
      ['credentials in the URL', { repo_url: 'https://user:pw@github.com/acme/app', prompt: 'x' }, 'invalid_repo_url', /credentials/],
      ['an owner with dots', { repo_url: 'https://github.com/../app', prompt: 'x' }, 'invalid_repo_url', /./],
      ['an unknown agent', { repo_url: REPO, prompt: 'x', agent: 'gpt-9' }, 'unknown_agent', /available: claude-code/],
      ['a negative budget', { repo_url: REPO, prompt: 'x', max_cost_usd: -1 }, 'invalid_request', /max_cost_usd/],
      ['a bad base branch', { repo_url: REPO, prompt: 'x', base_branch: 'a..b' }, 'invalid_request', /base_branch/],
    ])('rejects %s with a 400 and enqueues nothing', async (_what, body, code, message) => {
      const res = await post('/api/jobs', body);
      expect(res.status).toBe(400);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code).toBe(code);
      expect(error.message).toMatch(message);
      expect(await jobCount()).toBe(0);
    });

    it('rejects malformed JSON, a non-object body and a too-large body', async () => {
      const bad = await post('/api/jobs', '{"repo_url": ');
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: { code: 'invalid_request', message: 'request body is not valid JSON' } });
      const array = await post('/api/jobs', '[1,2]');
      expect(array.status).toBe(400);
      const noJson = await fetch(`${baseUrl}/api/jobs`, { method: 'POST', body: 'repo_url=x' });
      expect(noJson.status).toBe(400);
      const huge = await post('/api/jobs', { repo_url: REPO, prompt: 'x'.repeat(300_000) });
      expect(huge.status).toBe(413);
      expect(await jobCount()).toBe(0);
    });

    it('answers 404 for unknown jobs and 400 for a malformed Last-Event-ID', async () => {
      for (const path of ['/api/jobs/nope', '/api/jobs/nope/events']) {
        const res = await fetch(`${baseUrl}${path}`);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
      }
      expect((await fetch(`${baseUrl}/api/jobs/nope`, { method: 'DELETE' })).status).toBe(404);
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      const res = await fetch(`${baseUrl}/api/jobs/${id}/events`, { headers: { 'Last-Event-ID': 'garbage' } });
      expect(res.status).toBe(400);
    });

    it('streams history to a late client, live events after it, and ends after the terminal event', async () => {
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      await publish(id, { type: 'job.started', attempt: 1, workerId: 'w1' }, { type: 'step.started', step: 'create_sandbox' });

      const res = await fetch(`${baseUrl}/api/jobs/${id}/events`);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const received: { id?: string; event?: string; data: JobEvent }[] = [];
      const reading = (async () => {
        for await (const m of sseMessages(res)) received.push({ id: m.id, event: m.event, data: JSON.parse(m.data) as JobEvent });
      })();
      await waitFor(() => received.length === 3);
      await publish(
        id,
        { type: 'agent.message', text: 'hello' },
        { type: 'job.succeeded', result: { outcome: 'no_changes', filesChanged: [], summary: 'nothing' } },
      );
      await reading; // the server ends the stream after job.succeeded
      expect(received.map((r) => r.event)).toEqual(['job.queued', 'job.started', 'step.started', 'agent.message', 'job.succeeded']);
      expect(received.every((r) => r.event === r.data.type && r.data.jobId === id && /^\d+-\d+$/.test(r.id ?? ''))).toBe(true);
    });

    it('streams a job queued before tenants existed (no owner recorded) to an admin', async () => {
      const id = 'pre-tenant-job';
      await publish(id, { type: 'job.queued', repoUrl: REPO, agent: 'claude-code', draft: false }, { type: 'job.cancelled' });
      const res = await fetch(`${baseUrl}/api/jobs/${id}/events`);
      expect(res.status).toBe(200);
      const types: string[] = [];
      for await (const m of sseMessages(res)) types.push(m.event ?? '');
      expect(types).toEqual(['job.queued', 'job.cancelled']);
    });

    it('resumes after Last-Event-ID with nothing lost and nothing repeated', async () => {
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      for (let i = 0; i < 20; i++) await publish(id, { type: 'agent.message', text: `m${i}` });

      const first: string[] = [];
      let lastId = '';
      const controller = new AbortController();
      for await (const { id: eventId, event } of client.events(id, { signal: controller.signal })) {
        first.push(event.type === 'agent.message' ? event.text : event.type);
        lastId = eventId;
        if (first.length === 8) controller.abort();
      }
      // More events arrive while the client is away.
      for (let i = 20; i < 25; i++) await publish(id, { type: 'agent.message', text: `m${i}` });
      await publish(id, { type: 'job.cancelled' });

      const res = await fetch(`${baseUrl}/api/jobs/${id}/events`, { headers: { 'Last-Event-ID': lastId } });
      const rest: string[] = [];
      for await (const m of sseMessages(res)) {
        const event = JSON.parse(m.data) as JobEvent;
        rest.push(event.type === 'agent.message' ? event.text : event.type);
      }
      const all = [...first, ...rest];
      expect(all).toEqual(['job.queued', ...Array.from({ length: 25 }, (_, i) => `m${i}`), 'job.cancelled']);
    });

    it('sends heartbeat comments on an idle stream', async () => {
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      const controller = new AbortController();
      const res = await fetch(`${baseUrl}/api/jobs/${id}/events`, { signal: controller.signal });
      const reader = res.body!.getReader();
      let text = '';
      while (!text.includes(': ping')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      expect(text).toContain('event: job.queued');
    });

    it('cancels a queued job before any worker takes it', async () => {
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      const res = await fetch(`${baseUrl}/api/jobs/${id}`, { method: 'DELETE' });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ id, status: 'cancelled' });
      expect(await queue.getJob(id)).toBeNull();
      expect(await queue.isCancelRequested(id)).toBe(true);
      expect(await client.status(id)).toMatchObject({ state: 'cancelled', cancelRequested: true });
      const types: string[] = [];
      for await (const { event } of client.events(id)) types.push(event.type);
      expect(types).toEqual(['job.queued', 'job.cancel_requested', 'job.cancelled']);
      // A finished job cannot be cancelled again.
      expect((await fetch(`${baseUrl}/api/jobs/${id}`, { method: 'DELETE' })).status).toBe(409);
    });

    it('streams the original vocabulary on POST /code', async () => {
      const res = await post('/code', { repoUrl: REPO, prompt: 'Add a README' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const jobId = res.headers.get('x-job-id')!;
      expect(await queue.getJob(jobId)).not.toBeNull();

      const frames: Record<string, unknown>[] = [];
      const reading = (async () => {
        for await (const m of sseMessages(res)) frames.push(JSON.parse(m.data) as Record<string, unknown>);
      })();
      await publish(
        jobId,
        { type: 'job.started', attempt: 1, workerId: 'w' },
        { type: 'step.started', step: 'run_agent' },
        { type: 'agent.message', text: 'I will edit.' },
        { type: 'agent.tool_call', tool: 'Read', callId: 't1', input: { path: '/w/README.md' } },
        { type: 'agent.tool_call', tool: 'Edit', callId: 't2', input: { path: '/w/README.md', oldText: 'a', newText: 'b' } },
        { type: 'agent.tool_call', tool: 'Write', callId: 't3', input: { path: '/w/NEW.md' } },
        { type: 'agent.tool_call', tool: 'Bash', callId: 't4', input: { command: 'ls' } },
        { type: 'agent.tool_result', tool: 'Bash', callId: 't4', ok: true, output: 'README.md' },
        {
          type: 'job.succeeded',
          result: {
            outcome: 'pr_opened',
            pr: { url: 'https://github.com/acme/app/pull/1', number: 1, branch: 'tinyb/x' },
            filesChanged: [{ path: 'README.md', change: 'modified' }],
            summary: 'Edited.',
          },
        },
      );
      await reading;
      expect(frames).toEqual([
        { type: 'progress', stage: 'queued', message: 'Job queued' },
        { type: 'progress', stage: 'started', message: 'Job started (attempt 1)' },
        { type: 'progress', stage: 'run_agent', message: 'Running coding agent' },
        { type: 'AI Message', message: 'I will edit.' },
        { type: 'Tool: Read', filepath: '/w/README.md' },
        { type: 'Tool: Edit', filepath: '/w/README.md', old_str: 'a', new_str: 'b' },
        { type: 'Tool: Write', filepath: '/w/NEW.md' },
        { type: 'Tool: Bash', command: 'ls', output: 'README.md' },
        {
          type: 'pr_created',
          pr_url: 'https://github.com/acme/app/pull/1',
          branch_name: 'tinyb/x',
          files_changed: ['README.md'],
          summary: 'Edited.',
        },
        { type: 'complete', pr_url: 'https://github.com/acme/app/pull/1', summary: 'Edited.' },
      ]);
    });

    it('accepts repo_url on /api/code and reports errors in the original vocabulary', async () => {
      const bad = await post('/api/code', { repo_url: 'https://evil.example/acme/app', prompt: 'x' });
      expect(bad.status).toBe(400);
      const res = await post('/api/code', { repo_url: REPO, prompt: 'x' });
      const jobId = res.headers.get('x-job-id')!;
      const frames: Record<string, unknown>[] = [];
      const reading = (async () => {
        for await (const m of sseMessages(res)) frames.push(JSON.parse(m.data) as Record<string, unknown>);
      })();
      await publish(jobId, { type: 'job.failed', error: { code: 'agent_failed', message: 'model exploded', step: 'run_agent' } });
      await reading;
      expect(frames.at(-1)).toEqual({ type: 'error', message: 'model exploded' });
    });

    it('serves health, readiness, the index and Bull Board routes', async () => {
      expect(await (await fetch(`${baseUrl}/health`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${baseUrl}/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', redis: true });
      expect(await (await fetch(`${baseUrl}/`)).json()).toMatchObject({ name: 'tiny-backspace', version: '0.0.0-test' });
      expect((await fetch(`${baseUrl}/no/such/route`)).status).toBe(404);
    });

    it('exposes Prometheus metrics: job counts by state, live workers per agent, open event streams, submits', async () => {
      await client.submit({ repo_url: REPO, prompt: 'x' });
      const controller = new AbortController();
      const { id } = await client.submit({ repo_url: REPO, prompt: 'y' });
      const stream = await fetch(`${baseUrl}/api/jobs/${id}/events`, { signal: controller.signal });
      expect(stream.status).toBe(200);
      const res = await fetch(`${baseUrl}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/^tinyb_queue_jobs\{queue="code\.claude-code",state="waiting"\} 2$/m);
      expect(text).toMatch(/^tinyb_jobs_submitted_total\{agent="claude-code"\} 2$/m);
      expect(text).toMatch(/^tinyb_sse_streams_open 1$/m);
      expect(text).toMatch(/^tinyb_agent_workers\{agent="claude-code"\} 1$/m);
      expect(text.match(/^# TYPE tinyb_agent_workers gauge$/gm)).toHaveLength(1);
      controller.abort();
    });
  });

  describe('with API_TOKEN', () => {
    const apiToken = 'a-very-secret-api-token';
    beforeEach(() => start({ apiToken }));

    it('refuses requests without the bearer token, but keeps health open', async () => {
      const res = await post('/api/jobs', { repo_url: REPO, prompt: 'x' });
      expect(res.status).toBe(401);
      expect((await post('/code', { repo_url: REPO, prompt: 'x' })).status).toBe(401);
      expect((await post('/api/jobs', { repo_url: REPO, prompt: 'x' }, { authorization: 'Bearer wrong-token-of-same-len' })).status).toBe(401);
      expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
      const { id } = await client.submit({ repo_url: REPO, prompt: 'x' });
      expect((await client.status(id)).state).toBe('queued');
      expect(await jobCount()).toBe(1);
    });
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
