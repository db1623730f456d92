import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError, silentLogger, type ExecOptions, type Sandbox, type StepContext, type UsageMeter } from '@tinyb/core';
import type { NewJobEvent, Usage } from '@tinyb/contracts';
import { FAKE_FILES, FAKE_FINAL_TEXT } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { GeminiAgent } from './gemini-agent.js';
import { resolveGeminiCli } from './resolve-gemini-cli.js';

jest.setTimeout(60_000);

const executable = resolveGeminiCli();

interface Harness {
  sandbox: Sandbox;
  /** When the CLI's exec settled, to prove events arrived before it ended. */
  execEndedAt(): number | undefined;
  workdir: string;
  scratchDir: string;
}

const rootDir = path.join(tmpdir(), `tinyb-gemini-int-${process.pid}`);
let model: FakeGemini;
let agent: GeminiAgent;
let provider: LocalSandboxProvider;
let attempt = 0;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  model = await startFakeGemini();
  // One attempt per request: the CLI's backoff starts at 5 s.
  agent = new GeminiAgent({ executable, apiKey: model.apiKey, baseUrl: model.url, maxApiAttempts: 1 });
  provider = new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 });
});
afterAll(async () => {
  await model.close();
  await rm(rootDir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.destroy()));
});

function createSandbox(): Promise<Sandbox> {
  return provider.create({ jobId: `gemini-int-${++attempt}`, attempt: 1, toolPaths: agent.toolPaths }, new AbortController().signal);
}

/** A sandbox with a small git repo in it, wrapped to note when the agent's command ended. */
async function harness(): Promise<Harness> {
  const inner = await createSandbox();
  sandboxes.push(inner);
  const workdir = `${inner.workspaceDir}/repo`;
  const scratchDir = `${inner.workspaceDir}/scratch`;
  await inner.writeFile(`${workdir}/README.md`, `# Demo\n\n${FAKE_FILES.readmeOldLine}\n`);
  await inner.writeFile(`${workdir}/${FAKE_FILES.obsoletePath}`, 'old\n');
  const init = await inner.exec(['git', 'init', '-q'], { cwd: workdir });
  expect(init.exitCode).toBe(0);
  let endedAt: number | undefined;
  const sandbox: Sandbox = {
    id: inner.id,
    workspaceDir: inner.workspaceDir,
    readFile: (p) => inner.readFile(p),
    writeFile: (p, d) => inner.writeFile(p, d),
    destroy: () => inner.destroy(),
    exec: async (argv: string[], opts?: ExecOptions) => {
      try {
        return await inner.exec(argv, opts);
      } finally {
        if (argv[1] === executable) endedAt = Date.now();
      }
    },
  };
  return { sandbox, workdir, scratchDir, execEndedAt: () => endedAt };
}

interface Recorded {
  event: NewJobEvent;
  at: number;
}

function context(opts: { signal?: AbortSignal; onEvent?(e: NewJobEvent): void } = {}): { ctx: StepContext; events: Recorded[] } {
  const events: Recorded[] = [];
  const ctx: StepContext = {
    jobId: 'job-int',
    logger: silentLogger,
    signal: opts.signal ?? new AbortController().signal,
    emit: async (event) => {
      events.push({ event, at: Date.now() });
      opts.onEvent?.(event);
    },
  };
  return { ctx, events };
}

/** A UsageMeter that only records what it is told. */
function recordingMeter(): UsageMeter & { reports: Usage[] } {
  const reports: Usage[] = [];
  return { reports, report: async (u) => void reports.push(u), remaining: () => ({}) };
}

function runInput(h: Harness, prompt: string, extra: { timeoutMs?: number; maxTurns?: number; usage?: UsageMeter } = {}) {
  return {
    sandbox: h.sandbox,
    workdir: h.workdir,
    scratchDir: h.scratchDir,
    prompt,
    timeoutMs: extra.timeoutMs ?? 30_000,
    maxTurns: extra.maxTurns ?? 10,
    usage: extra.usage ?? recordingMeter(),
  };
}

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');
const nonce = () => `nonce-${Math.random().toString(36).slice(2)}`;

/** Whether any process on this host still has `marker` in its command line. */
async function processWith(marker: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(marker)) return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('GeminiAgent with the real gemini CLI in a bwrap sandbox', () => {
  it('write: creates the file, streams events live and in order, reports usage', async () => {
    const h = await harness();
    const { ctx, events } = context();
    const usage = recordingMeter();
    const before = model.requests.length;
    const out = await agent.run(runInput(h, 'Add a hello file', { usage }), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.write);
    expect(usage.reports).toEqual([{ inputTokens: 200, outputTokens: 40 }]);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.helloPath}`))).toBe(FAKE_FILES.helloContent);

    expect(events.map((e) => e.event)).toEqual([
      { type: 'agent.message', text: 'I will create the file.' },
      { type: 'agent.tool_call', tool: 'write_file', callId: expect.any(String), input: { path: FAKE_FILES.helloPath } },
      { type: 'agent.tool_result', tool: 'write_file', callId: expect.any(String), ok: true, output: expect.any(String) },
      { type: 'agent.message', text: FAKE_FINAL_TEXT.write },
    ]);
    const endedAt = h.execEndedAt();
    expect(endedAt).toBeDefined();
    expect(events[0]!.at).toBeLessThan(endedAt!);

    // The CLI called nothing but the main model, with the key it was given: no router, no side calls.
    const seen = model.requests.slice(before);
    expect(seen.map((r) => `${r.action} ${r.model}`)).toEqual(['streamGenerateContent gemini-2.5-pro', 'streamGenerateContent gemini-2.5-pro']);
    for (const r of seen) expect(r.headers['x-goog-api-key']).toBe(model.apiKey);
  });

  it('edit: changes the line in README.md', async () => {
    const h = await harness();
    const { ctx, events } = context();
    const out = await agent.run(runInput(h, 'Edit [scenario:edit]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.edit);
    const readme = text(await h.sandbox.readFile(`${h.workdir}/README.md`));
    expect(readme).toContain(FAKE_FILES.readmeNewLine);
    expect(readme).not.toContain(FAKE_FILES.readmeOldLine);
    expect(events.map((e) => e.event)).toContainEqual({
      type: 'agent.tool_call',
      tool: 'replace',
      callId: expect.any(String),
      input: { path: FAKE_FILES.readmePath, oldText: FAKE_FILES.readmeOldLine, newText: FAKE_FILES.readmeNewLine },
    });
  });

  it('multi: adds, edits and deletes files', async () => {
    const h = await harness();
    const { ctx, events } = context();
    const out = await agent.run(runInput(h, '[scenario:multi]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.multi);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.notesPath}`))).toBe(FAKE_FILES.notesContent);
    expect(text(await h.sandbox.readFile(`${h.workdir}/README.md`))).toContain(FAKE_FILES.readmeNewLine);
    await expect(h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.obsoletePath}`)).rejects.toThrow();
    const status = await h.sandbox.exec(['git', 'status', '--porcelain'], { cwd: h.workdir });
    expect(status.stdout).toContain(FAKE_FILES.notesPath);
    const tools = events.flatMap((e) => (e.event.type === 'agent.tool_call' ? [e.event.tool] : []));
    expect(tools).toEqual(['write_file', 'read_file', 'replace', 'run_shell_command']);
    const results = events.flatMap((e) => (e.event.type === 'agent.tool_result' ? [e.event] : []));
    expect(results).toHaveLength(4);
    expect(results.every((r) => r.ok)).toBe(true);
  });

  it('noop: succeeds with the model’s words and no tool calls', async () => {
    const h = await harness();
    const { ctx, events } = context();
    const out = await agent.run(runInput(h, '[scenario:noop]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.noop);
    expect(events.map((e) => e.event)).toEqual([{ type: 'agent.message', text: FAKE_FINAL_TEXT.noop }]);
  });

  it('env-probe: a token in the worker’s environment never reaches the sandbox or the model', async () => {
    const canary = `ghp_canary${nonce().replace(/[^a-z0-9]/g, '')}`;
    const saved = { GITHUB_TOKEN: process.env.GITHUB_TOKEN, GH_TOKEN: process.env.GH_TOKEN };
    process.env.GITHUB_TOKEN = canary;
    process.env.GH_TOKEN = canary;
    try {
      const h = await harness();
      const before = model.requests.length;
      const { ctx, events } = context();
      await agent.run(runInput(h, '[scenario:env-probe]'), ctx);
      const seen = model.requests.slice(before);
      // The probe really ran (the CLI's own variables are in its output) and went back to the model…
      expect(seen.some((r) => r.rawBody.includes('GEMINI_CLI_NO_RELAUNCH'))).toBe(true);
      // …without the token, anywhere.
      for (const r of model.requests) expect(r.rawBody).not.toContain(canary);
      expect(JSON.stringify(events)).not.toContain(canary);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('loop: stops at maxTurns with agent_max_turns, usage still reported', async () => {
    const h = await harness();
    const { ctx, events } = context();
    const usage = recordingMeter();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:loop]', { maxTurns: 2, usage }), ctx));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
    expect(events.filter((e) => e.event.type === 'agent.tool_call')).toHaveLength(2);
    expect(usage.reports).toEqual([{ inputTokens: 200, outputTokens: 40 }]);
  });

  it('a repository’s own .gemini/settings.json does not lift the turn limit', async () => {
    const h = await harness();
    await h.sandbox.writeFile(`${h.workdir}/.gemini/settings.json`, JSON.stringify({ model: { maxSessionTurns: -1 } }));
    const { ctx } = context();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:loop]', { maxTurns: 2 }), ctx));
    expect(err).toMatchObject({ code: 'agent_max_turns' });
  });

  it('http500: agent_failed, retryable, with the API error in the message', async () => {
    const h = await harness();
    const { ctx } = context();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http500]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 500') });
  });

  it('http429: agent_failed, retryable', async () => {
    const h = await harness();
    const { ctx } = context();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http429]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 429') });
  });

  it('http401: agent_failed, not retryable', async () => {
    const h = await harness();
    const { ctx } = context();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http401]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('401') });
  });

  it('slow: agent_timeout after timeoutMs, and the CLI is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx } = context();
    const started = Date.now();
    const err = await rejectionOf(agent.run(runInput(h, `[scenario:slow] ${marker}`, { timeoutMs: 4_000 }), ctx));
    expect(err).toMatchObject({ code: 'agent_timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await processWith(marker)).toBe(false);
  });

  it('abort mid-run: rejects with the sandbox’s rejection and kills the CLI', async () => {
    const h = await harness();
    const marker = nonce();
    const controller = new AbortController();
    let toolCalled!: () => void;
    const midRun = new Promise<void>((resolve) => (toolCalled = resolve));
    const { ctx, events } = context({
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'agent.tool_call') toolCalled();
      },
    });
    const started = Date.now();
    const run = rejectionOf(agent.run(runInput(h, `[scenario:slow] ${marker}`, { timeoutMs: 60_000 }), ctx));
    // The model has asked for the long command: the CLI is now running it, and visibly alive.
    await midRun;
    expect(await processWith(marker)).toBe(true);
    controller.abort(new AppError('cancelled', 'test abort'));
    const err = await run;
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(events[0]?.event).toEqual({ type: 'agent.message', text: 'This will take a while.' });
    expect(await processWith(marker)).toBe(false);
  });
});
