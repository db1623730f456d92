import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NewJobEvent } from '@tinyb/contracts';
import { JobUsageMeter, silentLogger, type AppError, type Budget } from '@tinyb/core';
import { resolveClaudeExecutable, resolveGeminiCli } from '@tinyb/agents';
import { FAKE_FILES, FAKE_FINAL_TEXT, FAKE_USAGE_PER_CALL, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { freeLoopbackPort } from './free-loopback-port.js';
import { ModelGateway } from './model-gateway.js';

/**
 * The final proof: the real Claude Code and Gemini CLIs, given only a gateway endpoint and a per-attempt token,
 * run a whole scripted task against the fake model APIs behind the gateway, and the gateway's meter counts it.
 */

jest.setTimeout(90_000);

let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let gateway: ModelGateway;
let scratch: string;

beforeAll(async () => {
  [anthropic, gemini] = await Promise.all([startFakeAnthropic(), startFakeGemini()]);
  // The CLIs run on this host, so the URL they see is the gateway's own TCP address.
  const port = await freeLoopbackPort();
  gateway = new ModelGateway({
    upstreams: { anthropic: { baseUrl: anthropic.url, apiKey: anthropic.apiKey }, gemini: { baseUrl: gemini.url, apiKey: gemini.apiKey } },
    sandboxBaseUrl: `http://127.0.0.1:${port}`,
    logger: silentLogger,
  });
  await gateway.listen({ port });
  scratch = await mkdtemp(path.join(tmpdir(), 'tinyb-gw-cli-'));
});
afterAll(async () => {
  await gateway.close();
  await Promise.all([anthropic.close(), gemini.close()]);
  await rm(scratch, { recursive: true, force: true });
});

async function attempt(budget: Budget = {}) {
  const events: NewJobEvent[] = [];
  const exceeded: AppError[] = [];
  const meter = new JobUsageMeter({ budget, emit: async (e) => void events.push(e), onExceeded: (e) => exceeded.push(e) });
  const grant = await gateway.grant({ jobId: 'job-cli', attempt: 1, usage: meter, signal: new AbortController().signal });
  return { grant, meter, events, exceeded };
}

/** A fresh HOME, temp dir and working directory for one CLI run. */
async function workspace(name: string) {
  const root = await mkdtemp(path.join(scratch, `${name}-`));
  const dirs = { home: path.join(root, 'home'), tmp: path.join(root, 'tmp'), repo: path.join(root, 'repo') };
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true })));
  return dirs;
}

/** Runs a CLI with exactly `env` (PATH added), stdin closed; resolves with its exit code and output. */
function run(argv: string[], opts: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const lastResult = (stdout: string): Record<string, unknown> | undefined =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.type === 'result')
    .at(-1);

async function runClaude(endpoint: { baseUrl: string; apiKey: string; auth?: 'api-key' | 'oauth' }, prompt: string) {
  const ws = await workspace('claude');
  const result = await run([resolveClaudeExecutable(), '-p', prompt, '--output-format', 'stream-json', '--verbose', '--dangerously-skip-permissions', '--max-turns', '5'], {
    cwd: ws.repo,
    env: {
      HOME: ws.home,
      CLAUDE_CODE_TMPDIR: ws.tmp,
      ANTHROPIC_BASE_URL: endpoint.baseUrl,
      ...(endpoint.auth === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: endpoint.apiKey } : { ANTHROPIC_API_KEY: endpoint.apiKey }),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_MAX_RETRIES: '2',
      ...(process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : {}),
    },
  });
  return { ...result, ws };
}

describe('the real CLIs through the gateway', () => {
  it('claude: runs the write scenario with only the token; upstream gets the real key; the gateway meters both calls', async () => {
    const { grant, meter, events } = await attempt();
    const endpoint = grant.endpoint('anthropic');
    const before = anthropic.requests.length;
    const { code, stdout, stderr, ws } = await runClaude(endpoint, 'Add a hello file');

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(lastResult(stdout)).toMatchObject({ is_error: false, result: FAKE_FINAL_TEXT.write });
    expect(await readFile(path.join(ws.repo, FAKE_FILES.helloPath), 'utf8')).toBe(FAKE_FILES.helloContent);

    const calls = anthropic.requests.slice(before);
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.url).toBe('/v1/messages?beta=true');
      expect(call.headers['x-api-key']).toBe(anthropic.apiKey);
      expect(`${JSON.stringify(call.headers)}${call.rawBody}`).not.toContain(endpoint.apiKey);
    }
    // The CLI saw only the token: the real key is in nothing it printed.
    expect(stdout).not.toContain(anthropic.apiKey);
    const total = { inputTokens: 2 * FAKE_USAGE_PER_CALL.inputTokens, outputTokens: 2 * FAKE_USAGE_PER_CALL.outputTokens };
    expect(meter.total()).toEqual(total);
    expect(events.at(-1)).toEqual({ type: 'agent.usage', ...total });
    await grant.revoke();
  });

  it('claude with a subscription token: the CLI runs in OAuth mode with the gateway token; only upstream sees the real bearer', async () => {
    const oauthToken = 'sk-ant-oat01-subscription-canary-0123456789';
    const subscription = await startFakeAnthropic({ oauthToken });
    const port = await freeLoopbackPort();
    const oauthGateway = new ModelGateway({ upstreams: { anthropic: { baseUrl: subscription.url, oauthToken } }, sandboxBaseUrl: `http://127.0.0.1:${port}`, logger: silentLogger });
    try {
      await oauthGateway.listen({ port });
      const meter = new JobUsageMeter({ budget: {}, emit: async () => undefined, onExceeded: () => undefined });
      const grant = await oauthGateway.grant({ jobId: 'job-oauth', attempt: 1, usage: meter, signal: new AbortController().signal });
      const endpoint = grant.endpoint('anthropic');
      expect(endpoint.auth).toBe('oauth');
      const { code, stdout, stderr, ws } = await runClaude(endpoint, 'Add a hello file');
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(lastResult(stdout)).toMatchObject({ is_error: false, result: FAKE_FINAL_TEXT.write });
      expect(await readFile(path.join(ws.repo, FAKE_FILES.helloPath), 'utf8')).toBe(FAKE_FILES.helloContent);
      // The fake refuses anything but the subscription's bearer with the oauth beta flag, so two calls through
      // prove the swap; and the token is nowhere but in those upstream requests.
      expect(subscription.requests).toHaveLength(2);
      for (const call of subscription.requests) {
        expect(call.headers.authorization).toBe(`Bearer ${oauthToken}`);
        expect(call.headers['x-api-key']).toBeUndefined();
        expect(call.rawBody).not.toContain(oauthToken);
      }
      expect(stdout).not.toContain(oauthToken);
      await grant.revoke();
    } finally {
      await oauthGateway.close();
      await subscription.close();
    }
  });

  it('claude: once the budget is spent, the next call is refused and the CLI stops without retrying it', async () => {
    const { grant, exceeded } = await attempt({ maxTokens: 100 });
    const before = anthropic.requests.length;
    const { code, stdout } = await runClaude(grant.endpoint('anthropic'), 'Add a hello file');

    expect(code).not.toBe(0);
    expect(lastResult(stdout)).toMatchObject({ is_error: true, result: expect.stringContaining("job's budget is spent") });
    expect(exceeded.map((e) => e.code)).toEqual(['budget_exceeded']);
    // One call went through (it spent the budget); the refused one reached no model and was not retried.
    expect(anthropic.requests.length - before).toBe(1);
    await grant.revoke();
  });

  it('claude: a revoked token gets 401 and the CLI fails to authenticate', async () => {
    const { grant } = await attempt();
    const endpoint = grant.endpoint('anthropic');
    await grant.revoke();
    const before = anthropic.requests.length;
    const { code, stdout } = await runClaude(endpoint, 'Add a hello file');
    expect(code).not.toBe(0);
    expect(lastResult(stdout)).toMatchObject({ is_error: true, result: expect.stringMatching(/401|authenticat/i) });
    expect(anthropic.requests.length).toBe(before);
  });

  it('gemini: accepts a base URL with a path prefix and runs the write scenario through the gateway', async () => {
    const { grant, meter } = await attempt();
    const endpoint = grant.endpoint('gemini');
    expect(new URL(endpoint.baseUrl).pathname).toBe('/gemini');
    const ws = await workspace('gemini');
    await mkdir(path.join(ws.home, '.gemini'), { recursive: true });
    // gemini-api-key auth (a base URL alone would select the "gateway" auth type, which headless mode refuses).
    const settings = {
      security: { auth: { selectedType: 'gemini-api-key' } },
      privacy: { usageStatisticsEnabled: false },
      general: { enableAutoUpdate: false, enableAutoUpdateNotification: false, maxAttempts: 1 },
    };
    await writeFile(path.join(ws.home, '.gemini', 'settings.json'), JSON.stringify(settings));
    const before = gemini.requests.length;

    const { code, stdout, stderr } = await run([process.execPath, resolveGeminiCli(), '-p', 'Add a hello file', '-o', 'stream-json', '--yolo', '--skip-trust', '-m', 'gemini-2.5-pro'], {
      cwd: ws.repo,
      env: { HOME: ws.home, TMPDIR: ws.tmp, GOOGLE_GEMINI_BASE_URL: endpoint.baseUrl, GEMINI_API_KEY: endpoint.apiKey },
    });

    expect({ code, stderr: stderr.includes(endpoint.apiKey) }).toEqual({ code: 0, stderr: false });
    expect(lastResult(stdout)).toMatchObject({ status: 'success' });
    expect(await readFile(path.join(ws.repo, FAKE_FILES.helloPath), 'utf8')).toBe(FAKE_FILES.helloContent);

    const calls = gemini.requests.slice(before);
    expect(calls.filter((c) => c.action === 'streamGenerateContent')).toHaveLength(2);
    for (const call of calls) {
      expect(call.url).toMatch(/^\/v1beta\/models\/gemini-2\.5-pro:(streamGenerateContent\?alt=sse|generateContent|countTokens)$/);
      expect(call.headers['x-goog-api-key']).toBe(gemini.apiKey);
      expect(`${call.url}${JSON.stringify(call.headers)}${call.rawBody}`).not.toContain(endpoint.apiKey);
    }
    // Every call that answered with usage (all but countTokens) is counted.
    const metered = calls.filter((c) => c.action !== 'countTokens').length;
    expect(meter.total()).toEqual({ inputTokens: metered * FAKE_USAGE_PER_CALL.inputTokens, outputTokens: metered * FAKE_USAGE_PER_CALL.outputTokens });
    await grant.revoke();
  });
});
