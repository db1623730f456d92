import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveClaudeExecutable, resolveCodexExecutable, resolveGeminiCli } from '@tinyb/agents';
import { TinyBackspaceClient, sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeDaytona, type FakeDaytona } from '@tinyb/testkit/fake-daytona';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { startFakeOpenAiResponses, type FakeOpenAiResponses } from '@tinyb/testkit/fake-openai-responses';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * The same pipeline with SANDBOX_PROVIDER=daytona: the real Daytona SDK in the worker against the fake
 * Daytona API (which runs the commands on this machine), and the real CLIs inside its sandboxes. No
 * CLAUDE_CODE_PATH, GEMINI_CLI_PATH or CODEX_PATH: the worker runs the image's own `claude`, `gemini` and `codex`, found on the
 * snapshot's PATH (a directory of this test's, holding wrappers around this checkout's CLIs).
 */
jest.setTimeout(120_000);

const GITHUB_TOKEN = 'ghp_daytonaE2eToken0123456789abcdef';

describe('end to end on Daytona sandboxes', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let daytona: FakeDaytona;
  let anthropic: FakeAnthropic;
  let gemini: FakeGemini;
  let codex: FakeOpenAiResponses;
  let api: AppProcess;
  let worker: AppProcess;
  let baseUrl: string;
  let client: TinyBackspaceClient;
  let gatewayPort: number;
  /** The snapshot's own bin directory; its wrappers note each call in `calls`. */
  let imageBin: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-daytona');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    await github.createRepo('acme', 'app', {
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    imageBin = await mkdtemp(join(tmpdir(), 'tinyb-image-bin-'));
    const wrappers = { claude: [resolveClaudeExecutable()], gemini: [process.execPath, resolveGeminiCli()], codex: [resolveCodexExecutable()] };
    for (const [name, argv] of Object.entries(wrappers)) {
      const quoted = argv.map((a) => `'${a}'`).join(' ');
      await writeFile(join(imageBin, name), `#!/bin/sh\necho ${name} >> '${imageBin}/calls'\nexec ${quoted} "$@"\n`);
      await chmod(join(imageBin, name), 0o755);
    }
    daytona = await startFakeDaytona({
      apiKey: 'dtn_e2e_key',
      imagePaths: { 'tiny-backspace-agents': `${imageBin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
    });
    [anthropic, gemini, codex] = await Promise.all([startFakeAnthropic(), startFakeGemini(), startFakeOpenAiResponses()]);
    // Left by a worker that crashed: the reaper must delete it. Another app's sandbox must survive.
    await daytona.plant({ labels: { app: 'tiny-backspace', jobId: 'lost-job', attempt: '1' } });
    await daytona.plant({ labels: { app: 'someone-else' } });

    const port = await freePort();
    gatewayPort = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1' });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      ANTHROPIC_API_KEY: anthropic.apiKey,
      ANTHROPIC_BASE_URL: anthropic.url,
      GEMINI_API_KEY: gemini.apiKey,
      GOOGLE_GEMINI_BASE_URL: gemini.url,
      CODEX_API_KEY: codex.apiKey,
      CODEX_BASE_URL: codex.url,
      SANDBOX_PROVIDER: 'daytona',
      DAYTONA_API_KEY: daytona.apiKey,
      DAYTONA_API_URL: daytona.apiUrl,
      DAYTONA_SNAPSHOT: 'tiny-backspace-agents',
      DAYTONA_USE_DEPRECATED_POLLING: 'true',
      // The fake's sandboxes run on this machine, so the gateway is on loopback.
      MODEL_GATEWAY_PUBLIC_URL: `http://127.0.0.1:${gatewayPort}`,
      MODEL_GATEWAY_HOST: '127.0.0.1',
      MODEL_GATEWAY_PORT: String(gatewayPort),
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
    client = new TinyBackspaceClient({ baseUrl });
  });

  afterAll(async () => {
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    for (const app of [api, worker]) {
      for (const secret of [GITHUB_TOKEN, daytona.apiKey, anthropic.apiKey, gemini.apiKey, codex.apiKey]) expect(app.output()).not.toContain(secret);
    }
    expect(codes).toEqual([0, 0]);
    await Promise.all([github?.close(), daytona?.close(), anthropic?.close(), gemini?.close(), codex?.close()]);
    await rm(imageBin, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const runJob = async (body: Record<string, unknown>, onEvent?: (e: JobEvent, id: string) => Promise<void>) => {
    const { id } = await client.submit({ repo_url: `${github.url}/acme/app`, prompt: 'x', ...body });
    const events: JobEvent[] = [];
    for await (const m of sseMessages(await fetch(`${baseUrl}/api/jobs/${id}/events`))) {
      const event = JSON.parse(m.data) as JobEvent;
      events.push(event);
      await onEvent?.(event, id);
    }
    return { id, events };
  };

  it('reaps a leaked sandbox of ours at start, and never touches anyone else\'s', async () => {
    await waitFor(() => !daytona.sandboxes().some((s) => s.labels['jobId'] === 'lost-job'));
    expect(daytona.sandboxes().filter((s) => s.labels['app'] === 'someone-else')).toHaveLength(1);
  });

  it.each(['claude-code', 'gemini', 'codex'])('%s: opens a PR from a labelled, egress-limited sandbox that is deleted afterwards', async (agent) => {
    const before = daytona.requests.filter((r) => r.method === 'POST' && r.path === '/api/sandbox').length;
    const { id, events } = await runJob({ agent, prompt: '[scenario:multi] Tidy up the docs' });
    const last = events.at(-1)!;
    if (last.type !== 'job.succeeded') throw new Error(`job ended ${JSON.stringify(last)}`);
    expect(last.result.filesChanged).toHaveLength(3);
    // The image's own command ran, found by name on the image's PATH.
    expect((await readFile(join(imageBin, 'calls'), 'utf8')).split('\n')).toContain(agent === 'claude-code' ? 'claude' : agent);
    expect(events).toContainEqual(expect.objectContaining({ type: 'step.completed', step: 'create_sandbox', detail: expect.stringMatching(/^daytona sandbox /) }));

    const creates = daytona.requests.filter((r) => r.method === 'POST' && r.path === '/api/sandbox');
    expect(creates).toHaveLength(before + 1);
    const body = creates.at(-1)!.body as Record<string, unknown>;
    expect(body).toMatchObject({
      snapshot: 'tiny-backspace-agents',
      labels: { app: 'tiny-backspace', jobId: id, attempt: '1' },
      autoStopInterval: 15,
      autoDeleteInterval: 0,
    });
    expect(JSON.stringify(body)).toContain('127.0.0.1'); // egress allowed only to the model gateway's host
    expect(JSON.stringify(body)).not.toContain(anthropic.apiKey);
    expect(daytona.sandboxes().filter((s) => s.labels['jobId'] === id)).toEqual([]);

    const dir = execFileSync('mktemp', ['-d']).toString().trim();
    execFileSync('git', ['clone', '-q', '--branch', `tinyb/${id}`, github.repoDir('acme', 'app'), dir]);
    expect(await readFile(join(dir, FAKE_FILES.notesPath), 'utf8')).toBe(FAKE_FILES.notesContent);
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['claude-code', () => anthropic.requests.map((r) => r.rawBody)],
    ['gemini', () => gemini.requests.map((r) => r.rawBody)],
  ] as const)('%s: the Daytona sandbox holds only a gateway token, never the model key or the GitHub token', async (agent, seen) => {
    const before = seen().length;
    const handedOver = { requests: daytona.requests.length, uploads: daytona.uploads.length };
    const { events } = await runJob({ agent, prompt: '[scenario:env-probe] Show the environment' });
    expect(events.at(-1)).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });
    // Everything the worker handed the sandbox: each command line and each uploaded file (the env files too).
    const given = [
      ...daytona.requests.slice(handedOver.requests).map((r) => JSON.stringify(r)),
      ...daytona.uploads.slice(handedOver.uploads).map((u) => u.content.toString('utf8')),
    ].join('\n');
    expect(given).toMatch(/_API_KEY='?tbgw_/);
    for (const secret of [anthropic.apiKey, gemini.apiKey, GITHUB_TOKEN, daytona.apiKey]) expect(given).not.toContain(secret);
    // What the CLI itself was given, as its probe's `env` printed it back to the model through the gateway.
    // (The fake runs sandboxes as processes of this machine, so /proc shows the host's processes too: only the
    // CLI's own variables are judged here.)
    const sent = seen().slice(before).join('\n');
    expect(sent).toMatch(new RegExp(`_BASE_URL=http://127\\.0\\.0\\.1:${gatewayPort}/`));
    expect(sent).toMatch(/(ANTHROPIC|GEMINI)_API_KEY=tbgw_/);
    for (const r of anthropic.requests) expect(r.headers['x-api-key']).toBe(anthropic.apiKey);
    for (const r of gemini.requests) expect(r.headers['x-goog-api-key']).toBe(gemini.apiKey);
  });

  it('codex: the Daytona sandbox holds only a gateway token and the gateway’s URL, never the model key or the GitHub token', async () => {
    const before = codex.requests.length;
    const handedOver = { requests: daytona.requests.length, uploads: daytona.uploads.length };
    const { events } = await runJob({ agent: 'codex', prompt: '[scenario:env-probe] Show the environment' });
    expect(events.at(-1)).toMatchObject({ type: 'job.succeeded', result: { outcome: 'no_changes' } });
    const given = [
      ...daytona.requests.slice(handedOver.requests).map((r) => JSON.stringify(r)),
      ...daytona.uploads.slice(handedOver.uploads).map((u) => u.content.toString('utf8')),
    ].join('\n');
    // The key's variable (an env file) holds a token; the CLI's config (an uploaded config.toml) names the gateway.
    expect(given).toMatch(/TINYB_MODEL_API_KEY='?tbgw_/);
    expect(given).toContain(`base_url = "http://127.0.0.1:${gatewayPort}/openai/v1"`);
    for (const secret of [codex.apiKey, anthropic.apiKey, gemini.apiKey, GITHUB_TOKEN, daytona.apiKey]) expect(given).not.toContain(secret);
    // The probe ran and its output reached the model through the gateway, with the real key swapped in there.
    const sent = codex.requests.slice(before).map((r) => r.rawBody).join('\n');
    expect(sent).toContain('redis-probe-exit=');
    // The fake's sandboxes are processes of this machine, so the probe also sees the host's /tmp: only the
    // CLI's own variable is judged here (`given` above is the guarantee).
    expect(sent).not.toMatch(/TINYB_MODEL_API_KEY=(?!tbgw_)/);
    expect(codex.requests.length).toBeGreaterThan(before);
    for (const r of codex.requests) expect(r.headers.authorization).toBe(`Bearer ${codex.apiKey}`);
  });

  it('cancels a running job and deletes its Daytona sandbox', async () => {
    const { id, events } = await runJob({ prompt: '[scenario:slow] Wait' }, async (event, jobId) => {
      if (event.type === 'agent.tool_call') await client.cancel(jobId);
    });
    expect(events.at(-1)!.type).toBe('job.cancelled');
    expect(daytona.sandboxes().filter((s) => s.labels['jobId'] === id)).toEqual([]);
    expect(daytona.sandboxes().every((s) => s.running === 0)).toBe(true);
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
