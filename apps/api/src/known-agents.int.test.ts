import { startTestApi, type TestApi } from './test-api.js';

const REPO = 'https://github.com/acme/app';

/** Known agents, not offered ones, decide what is accepted: with no worker at all, jobs are queued per agent. */
describe('API with known agents and no worker running', () => {
  let api: TestApi;
  let queue: TestApi['queue'];
  let registry: TestApi['agents'];
  let baseUrl: string;

  beforeEach(async () => {
    const knownAgents = ['claude-code', 'gemini'];
    api = await startTestApi({
      label: 'known-agents',
      config: { name: 't', version: '0', githubUrl: 'https://github.com', defaultAgent: 'claude-code', knownAgents, sseHeartbeatMs: 1000 },
      queueAgents: knownAgents,
    });
    ({ queue, agents: registry, baseUrl } = api);
  });
  afterEach(() => api.close());

  const post = (path: string, body: unknown) =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const agents = async () => (await (await fetch(`${baseUrl}/api/agents`)).json()) as { agents: { name: string; workers: number }[] };

  it('accepts a job for each known agent into that agent\'s queue, where it waits', async () => {
    const claude = await post('/api/jobs', { repo_url: REPO, prompt: 'x' });
    const gemini = await post('/api/jobs', { repo_url: REPO, prompt: 'y', agent: 'gemini' });
    expect([claude.status, gemini.status]).toEqual([202, 202]);
    const [a, b] = (await Promise.all([claude.json(), gemini.json()])) as { id: string }[];
    expect(await queue.getJob(a!.id)).toMatchObject({ queue: 'code.claude-code', state: 'waiting' });
    expect(await queue.getJob(b!.id)).toMatchObject({ queue: 'code.gemini', state: 'waiting' });
    expect(await (await fetch(`${baseUrl}/api/jobs/${b!.id}`)).json()).toMatchObject({ state: 'queued', agent: 'gemini' });
  });

  it('refuses an unknown agent with a 400 listing the known ones, and queues nothing', async () => {
    for (const path of ['/api/jobs', '/code']) {
      const res = await post(path, { repo_url: REPO, prompt: 'x', agent: 'openai' });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        error: { code: 'unknown_agent', message: "agent 'openai' is not known here; available: claude-code, gemini" },
      });
    }
    expect(Object.values(await queue.getJobCounts('waiting')).reduce((x, y) => x + y, 0)).toBe(0);
  });

  it('lists every known agent with its live workers: 0 before any worker, 1 once one advertises it', async () => {
    expect((await agents()).agents.map((a) => [a.name, a.workers])).toEqual([
      ['claude-code', 0],
      ['gemini', 0],
    ]);
    // An agent offered by a worker but unknown here is not listed: no job could be submitted for it.
    await registry.advertise({ workerId: 'w1', agents: [{ name: 'gemini' }, { name: 'custom' }], sandbox: 'local', startedAt: new Date().toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 1_100)); // the API caches the fleet's offer for a second
    expect((await agents()).agents.map((a) => [a.name, a.workers])).toEqual([
      ['claude-code', 0],
      ['gemini', 1],
    ]);
  });

  it('exposes job counts per queue and workers per known agent on /metrics', async () => {
    await post('/api/jobs', { repo_url: REPO, prompt: 'x', agent: 'gemini' });
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(text).toMatch(/^tinyb_queue_jobs\{queue="code\.gemini",state="waiting"\} 1$/m);
    expect(text).toMatch(/^tinyb_queue_jobs\{queue="code\.claude-code",state="waiting"\} 0$/m);
    expect(text).toMatch(/^tinyb_queue_jobs\{queue="code-jobs",state="waiting"\} 0$/m);
    expect(text.match(/^# TYPE tinyb_queue_jobs gauge$/gm)).toHaveLength(1);
    expect(text).toMatch(/^tinyb_agent_workers\{agent="claude-code"\} 0$/m);
  });
});
