import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { startFakeOpenAi, type FakeOpenAi } from '@tinyb/testkit/fake-openai';
import { startFakeOpenAiResponses, type FakeOpenAiResponses } from '@tinyb/testkit/fake-openai-responses';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * The same pipeline through every agent, and through GitHub App authentication: one worker offering all
 * four agents (each against its scripted fake), authenticated as an App that mints a token per job.
 */
jest.setTimeout(120_000);

const PAT = 'ghp_variantsPersonalToken0123456789';
const APP = { id: 4242, slug: 'tiny-backspace-test' };

describe('end to end: every agent, GitHub App auth', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let openai: FakeOpenAi;
  let codex: FakeOpenAiResponses;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-variants');
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    github = await startFakeGitHub({
      token: PAT,
      app: { ...APP, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() },
    });
    await github.createRepo('acme', 'app', {
      private: true,
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    github.installApp('acme', 'app');
    [anthropic, gemini, openai, codex] = await Promise.all([startFakeAnthropic(), startFakeGemini(), startFakeOpenAi(), startFakeOpenAiResponses()]);
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-variants-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1' });
    worker = startApp('worker', {
      ...shared,
      // No GITHUB_TOKEN at all: the worker authenticates only as the App.
      GITHUB_APP_ID: String(APP.id),
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString().replace(/\n/g, '\\n'),
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      GEMINI_API_KEY: gemini.apiKey,
      GOOGLE_GEMINI_BASE_URL: gemini.url,
      OPENAI_API_KEY: openai.apiKey,
      OPENAI_BASE_URL: openai.url,
      OPENAI_MODEL: 'fake-gpt',
      OPENAI_INPUT_USD_PER_MTOK: '1',
      OPENAI_OUTPUT_USD_PER_MTOK: '2',
      CODEX_API_KEY: codex.apiKey,
      CODEX_BASE_URL: codex.url,
      CODEX_INPUT_USD_PER_MTOK: '1',
      CODEX_OUTPUT_USD_PER_MTOK: '2',
      SANDBOX_ROOT: sandboxRoot,
      WORKER_CONCURRENCY: '3',
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    for (const app of [api, worker]) {
      expect(app.output()).not.toContain(PAT);
      for (const minted of github.installationTokens()) expect(app.output()).not.toContain(minted.token);
      for (const key of [anthropic.apiKey, gemini.apiKey, openai.apiKey, codex.apiKey]) expect(app.output()).not.toContain(key);
    }
    expect(codes).toEqual([0, 0]);
    await Promise.all([github?.close(), anthropic?.close(), gemini?.close(), openai?.close(), codex?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const runJob = async (body: Record<string, unknown>) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, ...body }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${id}/events`))) events.push(JSON.parse(m.data) as JobEvent);
    return { id, events };
  };

  it('offers exactly the agents whose credentials the worker has', async () => {
    const { agents } = (await (await fetch(`${baseUrl}/api/agents`)).json()) as { agents: { name: string; workers: number }[] };
    expect(agents.map((a) => [a.name, a.workers])).toEqual([
      ['claude-code', 1],
      ['gemini', 1],
      ['openai', 1],
      ['codex', 1],
    ]);
  });

  it.each(['claude-code', 'gemini', 'openai', 'codex'])('%s: opens a PR with the edit, reporting usage', async (agent) => {
    const { id, events } = await runJob({ agent, prompt: '[scenario:edit] Mark the README as edited', requested_by: '@hubot' });
    const last = events.at(-1)!;
    if (last.type !== 'job.succeeded') throw new Error(`job ended ${JSON.stringify(last)}`);
    expect(last.result).toMatchObject({ outcome: 'pr_opened', filesChanged: [{ path: 'README.md', change: 'modified' }] });
    expect(last.result.usage!.inputTokens).toBeGreaterThan(0);
    if (agent !== 'gemini') expect(last.result.usage!.costUsd).toBeGreaterThan(0); // Gemini's CLI reports no cost
    const calls = events.flatMap((e) => (e.type === 'agent.tool_call' ? [e.input.path] : []));
    expect(calls).toContain('README.md');

    const branch = `tinyb/${id}`;
    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('git', ['clone', '-q', '--branch', branch, github.repoDir('acme', 'app'), dir]);
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toContain(FAKE_FILES.readmeNewLine);
    // Attributed to the App; the PR names the requester.
    expect(execFileSync('git', ['-C', dir, 'log', '-1', '--format=%an']).toString().trim()).toBe(`${APP.slug}[bot]`);
    const pr = github.pulls('acme', 'app').find((p) => p.head.ref === branch)!;
    expect(pr.body).toContain('requested by @hubot');
    await rm(dir, { recursive: true, force: true });
  });

  it('mints one token per job for the one repository with only contents and pull_requests write', () => {
    expect(github.accessTokenRequests.length).toBeGreaterThanOrEqual(4);
    for (const request of github.accessTokenRequests) {
      expect(request).toMatchObject({ repositories: ['app'], permissions: { contents: 'write', pull_requests: 'write' } });
    }
    // The personal token was never used: the worker does not have it.
    expect(github.requests.filter((r) => r.credential === 'token')).toHaveLength(0);
  });

  it.each([
    ['claude-code', () => anthropic.requests.map((r) => r.rawBody)],
    ['gemini', () => gemini.requests.map((r) => r.rawBody)],
    ['openai', () => openai.requests.map((r) => r.rawBody)],
    ['codex', () => codex.requests.map((r) => r.rawBody)],
  ] as const)('%s: the sandbox holds no GitHub credential and no model key, and cannot reach Redis', async (agent, seen) => {
    const before = seen().length;
    const { events } = await runJob({ agent, prompt: '[scenario:env-probe] Show the environment' });
    expect(events.at(-1)).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });
    // What the probe printed, as the model got it back (raw: before any redaction of events).
    const sent = seen().slice(before).join('\n');
    expect(sent).toContain('PATH=');
    for (const minted of github.installationTokens()) expect(sent).not.toContain(minted.token);
    // Token-shaped strings (the probe's own grep pattern names the prefixes, so a bare prefix proves nothing).
    expect(sent).not.toMatch(/gh[pousr]_[A-Za-z0-9]{20,}|x-access-token|extraheader/i);
    for (const key of [anthropic.apiKey, gemini.apiKey, openai.apiKey, codex.apiKey]) expect(sent).not.toContain(key);
    expect(sent).toContain('redis-probe-exit=1');
    // The CLI agents hold only their attempt's gateway token; the openai loop runs in the worker and gives none.
    if (agent !== 'openai') expect(sent).toMatch(/_API_KEY=tbgw_/);
    for (const event of events) for (const key of [anthropic.apiKey, gemini.apiKey, openai.apiKey, codex.apiKey]) expect(JSON.stringify(event)).not.toContain(key);
    expect(await readdir(sandboxRoot)).toEqual([]);
  });

  it('the model APIs still receive every call with the real keys', () => {
    expect(anthropic.requests.length).toBeGreaterThan(0);
    for (const r of anthropic.requests) expect(r.headers['x-api-key']).toBe(anthropic.apiKey);
    expect(gemini.requests.length).toBeGreaterThan(0);
    for (const r of gemini.requests) expect(r.headers['x-goog-api-key']).toBe(gemini.apiKey);
    for (const r of openai.requests) expect(r.headers.authorization).toBe(`Bearer ${openai.apiKey}`);
    expect(codex.requests.length).toBeGreaterThan(0);
    for (const r of codex.requests) expect(r.headers.authorization).toBe(`Bearer ${codex.apiKey}`);
  });
});
