import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * Seed parity: a worker with nothing but a Claude subscription's token (CLAUDE_CODE_OAUTH_TOKEN) and a GitHub
 * token runs a job end to end with the real claude CLI in a real sandbox. The CLI runs in its OAuth mode with
 * a gateway token; the fake Anthropic accepts only the subscription's bearer with the OAuth beta flag, so each
 * answered call proves the swap. The commits carry the author named with the seed's GITHUB_USERNAME/GITHUB_EMAIL.
 */
jest.setTimeout(120_000);

const GITHUB_TOKEN = 'ghp_subscriptionE2eToken0123456789abcdef';
// No well-known token shape: only the worker's registration of its secrets could hide it.
const OAUTH_TOKEN = 'canary-claude-subscription-Vb7Nm2Qx9Lk4Jh1';
const AUTHOR = { name: 'Ada Lovelace', email: 'ada@example.com' };

describe('end to end with a Claude subscription token', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-subscription');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ oauthToken: OAUTH_TOKEN });
    await github.createRepo('acme', 'app', {
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-subscription-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'debug' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1' });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN,
      ANTHROPIC_BASE_URL: model.url,
      GITHUB_USERNAME: AUTHOR.name,
      GITHUB_EMAIL: AUTHOR.email,
      SANDBOX_ROOT: sandboxRoot,
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    expect(codes).toEqual([0, 0]);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const runJob = async (prompt: string) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${id}/events`))) events.push(JSON.parse(m.data) as JobEvent);
    return { id, events };
  };

  it('offers claude-code and says which credential it uses', async () => {
    const agents = (await (await fetch(`${baseUrl}/api/agents`)).json()) as { agents: { name: string; workers: number }[] };
    expect(agents.agents).toContainEqual(expect.objectContaining({ name: 'claude-code', workers: 1 }));
    expect(worker.output()).toMatch(/anthropic.{0,20}CLAUDE_CODE_OAUTH_TOKEN/);
  });

  it('opens a pull request whose commit carries the configured author; the token is nowhere but upstream', async () => {
    const before = model.requests.length;
    const { id, events } = await runJob('[scenario:multi] Tidy up the docs');
    const last = events.at(-1);
    if (last?.type !== 'job.succeeded') throw new Error(`job ended ${JSON.stringify(last)}`);
    expect(last.result.outcome).toBe('pr_opened');

    // Every model call went upstream with the subscription's bearer (the fake refuses anything else).
    const calls = model.requests.slice(before);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    for (const call of calls) {
      expect(call.headers.authorization).toBe(`Bearer ${OAUTH_TOKEN}`);
      expect(call.headers['x-api-key']).toBeUndefined();
    }

    const bare = github.repoDir('acme', 'app');
    const author = execFileSync('git', ['--git-dir', bare, 'log', '-1', '--format=%an <%ae>', `tinyb/${id}`]).toString().trim();
    expect(author).toBe(`${AUTHOR.name} <${AUTHOR.email}>`);

    const pr = github.pulls('acme', 'app').find((p) => p.number === last.result.pr?.number);
    if (!pr) throw new Error('no pull request');
    const places: Record<string, string> = {
      'SSE events': JSON.stringify(events),
      Redis: await fixture.dump(),
      'worker log': worker.output(),
      'API log': api.output(),
      'PR title and body': `${pr.title}\n${pr.body}`,
      'model request bodies': calls.map((c) => c.rawBody).join('\n'),
    };
    for (const [place, text] of Object.entries(places)) expect({ place, leaked: text.includes(OAUTH_TOKEN) }).toEqual({ place, leaked: false });
  });

  it('the sandbox never holds the subscription token: the CLI runs in OAuth mode with a gateway token', async () => {
    const before = model.requests.length;
    const { events } = await runJob('[scenario:env-probe] Show the environment');
    expect(events.at(-1)).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });
    const sent = model.requests.slice(before).map((r) => r.rawBody).join('\n');
    expect(sent).toMatch(/CLAUDE_CODE_OAUTH_TOKEN=tbgw_[A-Za-z0-9_-]{20,}/);
    expect(sent).not.toContain('ANTHROPIC_API_KEY=');
    expect(sent).not.toContain(OAUTH_TOKEN);
    expect(sent).not.toContain(GITHUB_TOKEN);
  });
});
