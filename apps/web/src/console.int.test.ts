import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, workspaceRoot, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * The console in a real browser (Debian's chromium, driven by playwright-core) against the real API and
 * worker, the real claude CLI in bubblewrap against the fake Anthropic, and the fake GitHub. The API has
 * tenant keys, so everything goes through the key prompt first.
 */
jest.setTimeout(180_000);

const CHROMIUM = process.env['TINYB_CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const GITHUB_TOKEN = 'ghp_webConsoleToken0123456789abcdefABCDEF';
const MODEL_KEY = 'sk-ant-web-console-model-key';
const TENANT_KEY = 'tbk_web_console_tenant_key_0123456789';
const WEB_DIR = join(workspaceRoot(__dirname), 'apps', 'web');
const ARTIFACTS = join(WEB_DIR, 'test-artifacts');

/** Events that fold into an earlier row (a step's end, a tool's result) or into the header (usage). */
const FOLDED = new Set(['step.completed', 'step.failed', 'agent.tool_result', 'agent.usage']);

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  // Only a machine that skipped scripts/setup.sh gets here: it installs chromium.
  console.warn(`SKIPPED: the web console's browser tests need Chromium at ${CHROMIUM} (scripts/setup.sh installs Debian's chromium)`);
}

(haveChromium ? describe : describe.skip)('web console in a real browser', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;
  let apiEnv: Record<string, string>;
  let browser: Browser;
  let page: Page;
  const requests: { url: string; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    // The API serves whatever apps/web/dist holds; `pnpm test` builds it first (turbo), a lone jest run here too.
    if (!existsSync(join(WEB_DIR, 'dist', 'index.html'))) execFileSync('npx', ['vite', 'build'], { cwd: WEB_DIR, stdio: 'ignore' });
    mkdirSync(ARTIFACTS, { recursive: true });
    fixture = new RedisFixture('web');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo('acme', 'app', {
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-web-sandboxes-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    apiEnv = {
      ...shared,
      PORT: String(port),
      HOST: '127.0.0.1',
      SSE_HEARTBEAT_MS: '1000',
      API_KEYS: `acme:${createHash('sha256').update(TENANT_KEY).digest('hex')}`,
      WEB_DIST_DIR: join(WEB_DIR, 'dist'),
    };
    api = startApp('api', apiEnv);
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: MODEL_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '2',
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As root, chromium needs --no-sandbox; the rest keeps it off the (closed) network at start.
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('request', (r) => requests.push({ url: r.url(), authorization: r.headers()['authorization'] }));
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    await browser?.close();
    const codes = await Promise.all([api?.stop(), worker?.stop()]);
    expect(codes).toEqual([0, 0]);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture?.cleanup();
  });

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

  /** The job's whole event log as the API keeps it, read to its terminal event. */
  const serverEvents = async (jobId: string) => {
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${TENANT_KEY}` } });
    const frames: { id: string; event: JobEvent }[] = [];
    for await (const m of sseMessages(res)) {
      frames.push({ id: m.id ?? '', event: JSON.parse(m.data) as JobEvent });
      if (['job.succeeded', 'job.failed', 'job.cancelled'].includes(frames.at(-1)!.event.type)) break;
    }
    return frames;
  };
  const renderedEventIds = () => page.locator('.timeline > li').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event-id') ?? ''));
  const jobState = () => page.locator('.job-head .badge').getAttribute('data-state');
  const waitForState = (state: string, timeout = 90_000) => page.locator(`.job-head .badge[data-state="${state}"]`).waitFor({ timeout });

  /** The page shows each event of the job exactly once: every row's event, in the API's order, and no other. */
  const expectTimelineMatchesServer = async (jobId: string) => {
    const frames = await serverEvents(jobId);
    const shown = await renderedEventIds();
    expect(shown).toEqual(frames.filter((f) => !FOLDED.has(f.event.type)).map((f) => f.id));
    expect(await page.locator('[data-event-count]').getAttribute('data-event-count')).toBe(String(frames.length));
    return { frames, shown };
  };

  const submitThroughForm = async (prompt: string, extra: { draft?: boolean } = {}) => {
    await page.goto(`${baseUrl}/ui/`);
    const form = page.locator('form[aria-label="New job"]');
    await form.locator('select[name=agent] option[value="claude-code"]').waitFor({ state: 'attached' });
    await form.locator('input[name=repoUrl]').fill(`${github.url}/acme/app`);
    await form.locator('textarea[name=prompt]').fill(prompt);
    if (extra.draft) await form.locator('input[name=draft]').check();
    await form.getByRole('button', { name: 'Submit job' }).click();
    await page.waitForURL(/\/ui\/jobs\/[^/]+$/);
    return decodeURIComponent(new URL(page.url()).pathname.split('/').at(-1)!);
  };

  it('asks for the API key on a 401, refuses a wrong one, keeps the right one and sends it only as a Bearer header', async () => {
    await page.goto(`${baseUrl}/ui/`);
    const dialog = page.locator('form[aria-label="API key"]');
    await dialog.waitFor();
    await shot('key-prompt');
    await dialog.locator('input[name=apiKey]').fill('not-the-key');
    await dialog.getByRole('button', { name: 'Save key' }).click();
    // Saved, sent, refused: asked again, this time saying the stored key was turned down.
    await dialog.getByRole('alert').filter({ hasText: 'refused the stored key' }).waitFor();
    await dialog.locator('input[name=apiKey]').fill(TENANT_KEY);
    await dialog.getByRole('button', { name: 'Save key' }).click();
    await page.getByText('No jobs yet.').waitFor();
    expect(await dialog.count()).toBe(0);

    // Kept across a reload: no prompt.
    await page.reload();
    await page.getByText('No jobs yet.').waitFor();
    expect(await dialog.count()).toBe(0);
    expect(await page.evaluate(() => localStorage.getItem('tinyb.apiKey'))).toBe(TENANT_KEY);

    const apiCalls = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/'));
    expect(apiCalls.some((r) => r.authorization === `Bearer ${TENANT_KEY}`)).toBe(true);
    expect(requests.filter((r) => r.url.includes(TENANT_KEY) || r.url.includes('not-the-key'))).toEqual([]);
  });

  it('shows the API\'s refusal of a submit plainly', async () => {
    await page.goto(`${baseUrl}/ui/`);
    const form = page.locator('form[aria-label="New job"]');
    await form.locator('input[name=repoUrl]').fill('https://elsewhere.example/acme/app');
    await form.locator('textarea[name=prompt]').fill('Tidy up');
    await form.getByRole('button', { name: 'Submit job' }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/^invalid_repo_url: /);
    expect(new URL(page.url()).pathname).toBe('/ui/');
  });

  it('submits a job through the form and follows it live to its pull request: steps, messages, tool calls with the edit\'s diff, usage', async () => {
    const jobId = await submitThroughForm('[scenario:multi] Tidy up the docs', { draft: true });
    await page.locator('.facts .pr-link').waitFor({ timeout: 90_000 });
    await waitForState('succeeded');

    const pr = github.pulls('acme', 'app').find((p) => p.head.ref === `tinyb/${jobId}`)!;
    expect(pr.draft).toBe(true);
    expect(await page.locator('.facts .pr-link').getAttribute('href')).toBe(pr.htmlUrl);
    const steps = page.locator('[data-step]');
    expect(await steps.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-step-state')}`))).toEqual(
      ['create_sandbox', 'clone', 'run_agent', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox'].map((s) => `${s}:completed`),
    );
    expect(await page.locator('[data-step] .duration').count()).toBe(7);
    expect(await page.locator('[data-tool]').evaluateAll((els) => els.map((e) => e.getAttribute('data-tool')))).toEqual(['Write', 'Read', 'Edit', 'Bash']);
    const edit = page.locator('[data-tool="Edit"]');
    expect(await edit.locator('.diff-removed').textContent()).toContain(FAKE_FILES.readmeOldLine);
    expect(await edit.locator('.diff-added').textContent()).toContain(FAKE_FILES.readmeNewLine);
    expect(await page.locator('[data-tool="Bash"] .command').textContent()).toContain(`rm ${FAKE_FILES.obsoletePath}`);
    expect(await page.locator('.entry-message').first().textContent()).toContain('Three changes coming.');
    expect(await page.locator('.facts .usage').textContent()).toMatch(/^[\d,]+ in · [\d,]+ out/);
    await expectTimelineMatchesServer(jobId);
    await shot('job-succeeded');

    // The list has it, with its PR, and the state filter keeps or drops it.
    await page.getByRole('link', { name: '← All jobs' }).click();
    const row = page.locator(`tr[data-job-id="${jobId}"]`);
    await row.waitFor();
    expect(await row.locator('.badge').getAttribute('data-state')).toBe('succeeded');
    expect(await row.locator('.pr-link').getAttribute('href')).toBe(pr.htmlUrl);
    await page.locator('select[name=stateFilter]').selectOption('failed');
    await row.waitFor({ state: 'detached' });
    await page.locator('select[name=stateFilter]').selectOption('succeeded');
    await row.waitFor();
    await shot('jobs-list');
  });

  it('cancels a slow job with the cancel button and shows it end cancelled', async () => {
    const jobId = await submitThroughForm('[scenario:slow] Take your time');
    await page.locator('[data-tool="Bash"]').waitFor({ timeout: 60_000 });
    const started = Date.now();
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await waitForState('cancelled', 30_000);
    expect(Date.now() - started).toBeLessThan(30_000); // not the agent's 60 s sleep
    expect(await page.getByRole('button', { name: /Cancel/ }).count()).toBe(0);
    expect(await page.locator('.note-warning', { hasText: 'Cancel requested' }).count()).toBe(1);
    const { frames } = await expectTimelineMatchesServer(jobId);
    expect(frames.at(-1)!.event.type).toBe('job.cancelled');
    await shot('job-cancelled');
  });

  it('shows the same timeline after a reload mid-job, nothing lost or repeated', async () => {
    const jobId = await submitThroughForm('[scenario:nap] Nap, then write');
    await page.locator('[data-tool="Bash"]').waitFor({ timeout: 60_000 });
    const before = await renderedEventIds();
    expect(await jobState()).toBe('running');
    await page.reload();
    await waitForState('succeeded');
    const { shown } = await expectTimelineMatchesServer(jobId);
    expect(shown.slice(0, before.length)).toEqual(before);
    expect(shown.length).toBeGreaterThan(before.length);
  });

  it('reconnects after the API restarts mid-job, resuming after the last event it showed', async () => {
    const jobId = await submitThroughForm('[scenario:nap] Nap through a restart');
    await page.locator('[data-tool="Bash"]').waitFor({ timeout: 60_000 });
    const before = await renderedEventIds();
    expect(await api.stop()).toBe(0);
    await page.locator('[data-connection="reconnecting"]').waitFor();
    const resumedFrom = new Promise<string | undefined>((resolve) =>
      page.on('request', (r) => r.url().endsWith(`/api/jobs/${jobId}/events`) && resolve(r.headers()['last-event-id'])),
    );
    api = startApp('api', apiEnv);
    await waitForHttp(`${baseUrl}/ready`, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${api.output()}`);
    });
    await waitForState('succeeded');
    const { frames, shown } = await expectTimelineMatchesServer(jobId);
    expect(shown.slice(0, before.length)).toEqual(before);
    // The reconnect asked for what came after the last event folded in before the drop, by header.
    const lastBeforeDrop = await resumedFrom;
    expect(frames.map((f) => f.id)).toContain(lastBeforeDrop);
    expect(frames.findIndex((f) => f.id === lastBeforeDrop)).toBeGreaterThanOrEqual(frames.findIndex((f) => f.id === before.at(-1)));
  });
});
