import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppError, JobUsageMeter, silentLogger, type ExecOptions, type Sandbox, type StepContext } from '@tinyb/core';
import type { NewJobEvent } from '@tinyb/contracts';
import { FAKE_FILES, FAKE_FINAL_TEXT, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { ClaudeCodeAgent } from './claude-code-agent.js';
import { resolveClaudeExecutable } from './resolve-claude-executable.js';

jest.setTimeout(60_000);

const executable = resolveClaudeExecutable();

interface Harness {
  sandbox: Sandbox;
  /** When the CLI's exec settled, to prove events arrived before it ended. */
  execEndedAt(): number | undefined;
  workdir: string;
  scratchDir: string;
}

const rootDir = path.join(tmpdir(), `tinyb-agents-int-${process.pid}`);
let model: FakeAnthropic;
let agent: ClaudeCodeAgent;
let provider: LocalSandboxProvider;
let attempt = 0;
const sandboxes: Sandbox[] = [];

beforeAll(async () => {
  model = await startFakeAnthropic();
  agent = new ClaudeCodeAgent({ executable, apiKey: model.apiKey, baseUrl: model.url, maxApiRetries: 1 });
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
  return provider.create({ jobId: `agent-int-${++attempt}`, attempt: 1, toolPaths: agent.toolPaths }, new AbortController().signal);
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
        if (argv[0] === executable) endedAt = Date.now();
      }
    },
  };
  return { sandbox, workdir, scratchDir, execEndedAt: () => endedAt };
}

interface Recorded {
  event: NewJobEvent;
  at: number;
}

function context(opts: { signal?: AbortSignal; onEvent?(e: NewJobEvent): void } = {}): {
  ctx: StepContext;
  events: Recorded[];
  usage: JobUsageMeter;
} {
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
  // The real meter: it turns the agent's reports into agent.usage events with the job's totals.
  const usage = new JobUsageMeter({ budget: {}, emit: ctx.emit, onExceeded: () => undefined });
  return { ctx, events, usage };
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

describe('ClaudeCodeAgent with the real claude CLI in a bwrap sandbox', () => {
  it('write: creates the file and streams events live, in order', async () => {
    const h = await harness();
    const { ctx, events, usage } = context();
    const out = await agent.run(
      { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: 'Add a hello file', timeoutMs: 30_000, maxTurns: 5, usage },
      ctx,
    );
    expect(out.summary).toBe(FAKE_FINAL_TEXT.write);
    expect(usage.total()).toEqual({ inputTokens: 200, outputTokens: 40, costUsd: expect.any(Number) });
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.helloPath}`))).toBe(FAKE_FILES.helloContent);

    expect(events.map((e) => e.event).filter((e) => e.type !== 'agent.usage')).toEqual([
      { type: 'agent.message', text: 'I will create the file.' },
      { type: 'agent.tool_call', tool: 'Write', callId: expect.any(String), input: { path: FAKE_FILES.helloPath } },
      { type: 'agent.tool_result', tool: 'Write', callId: expect.any(String), ok: true, output: expect.stringContaining('HELLO.md') },
      { type: 'agent.message', text: FAKE_FINAL_TEXT.write },
    ]);
    // Usage is reported while the run goes (after each model response), then corrected by the final result.
    const usageEvents = events.map((e) => e.event).filter((e) => e.type === 'agent.usage');
    expect(usageEvents.length).toBeGreaterThanOrEqual(2);
    expect(usageEvents[0]).toMatchObject({ inputTokens: 100 });
    expect(usageEvents.at(-1)).toEqual({ type: 'agent.usage', inputTokens: 200, outputTokens: 40, costUsd: expect.any(Number) });
    expect(events.findIndex((e) => e.event.type === 'agent.usage')).toBeLessThan(
      events.findIndex((e) => e.event.type === 'agent.tool_result'),
    );
    const endedAt = h.execEndedAt();
    expect(endedAt).toBeDefined();
    expect(events[0]!.at).toBeLessThan(endedAt!);

    // The CLI ran with only what the agent gave it, and called nothing but the model.
    expect(model.requests.at(-1)?.headers['x-api-key']).toBe(model.apiKey);
  });

  it('edit: changes the line in README.md', async () => {
    const h = await harness();
    const { ctx, events, usage } = context();
    const out = await agent.run(
      { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: 'Edit [scenario:edit]', timeoutMs: 30_000, maxTurns: 5, usage },
      ctx,
    );
    expect(out.summary).toBe(FAKE_FINAL_TEXT.edit);
    const readme = text(await h.sandbox.readFile(`${h.workdir}/README.md`));
    expect(readme).toContain(FAKE_FILES.readmeNewLine);
    expect(readme).not.toContain(FAKE_FILES.readmeOldLine);
    expect(events.map((e) => e.event)).toContainEqual({
      type: 'agent.tool_call',
      tool: 'Edit',
      callId: expect.any(String),
      input: { path: FAKE_FILES.readmePath, oldText: FAKE_FILES.readmeOldLine, newText: FAKE_FILES.readmeNewLine },
    });
  });

  it('multi: adds, edits and deletes files', async () => {
    const h = await harness();
    const { ctx, events, usage } = context();
    const out = await agent.run(
      { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:multi]', timeoutMs: 30_000, maxTurns: 10, usage },
      ctx,
    );
    expect(out.summary).toBe(FAKE_FINAL_TEXT.multi);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.notesPath}`))).toBe(FAKE_FILES.notesContent);
    expect(text(await h.sandbox.readFile(`${h.workdir}/README.md`))).toContain(FAKE_FILES.readmeNewLine);
    await expect(h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.obsoletePath}`)).rejects.toThrow();
    const status = await h.sandbox.exec(['git', 'status', '--porcelain'], { cwd: h.workdir });
    expect(status.stdout).toContain(FAKE_FILES.notesPath);
    const tools = events.flatMap((e) => (e.event.type === 'agent.tool_call' ? [e.event.tool] : []));
    expect(tools).toEqual(['Write', 'Read', 'Edit', 'Bash']);
    expect(events.filter((e) => e.event.type === 'agent.tool_result').every((e) => e.event.type === 'agent.tool_result' && e.event.ok)).toBe(true);
  });

  it('noop: succeeds with the model’s words and no tool calls', async () => {
    const h = await harness();
    const { ctx, events, usage } = context();
    const out = await agent.run(
      { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:noop]', timeoutMs: 30_000, maxTurns: 5, usage },
      ctx,
    );
    expect(out.summary).toBe(FAKE_FINAL_TEXT.noop);
    expect(events.map((e) => e.event.type).filter((t) => t !== 'agent.usage')).toEqual(['agent.message']);
    expect(events.at(-1)!.event.type).toBe('agent.usage');
  });

  it('env-probe: a token in the worker’s environment never reaches the sandbox or the model', async () => {
    const canary = `ghp_canary${nonce().replace(/[^a-z0-9]/g, '')}`;
    const saved = { GITHUB_TOKEN: process.env.GITHUB_TOKEN, GH_TOKEN: process.env.GH_TOKEN };
    process.env.GITHUB_TOKEN = canary;
    process.env.GH_TOKEN = canary;
    try {
      const h = await harness();
      const before = model.requests.length;
      const { ctx, events, usage } = context();
      await agent.run(
        { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:env-probe]', timeoutMs: 30_000, maxTurns: 5, usage },
        ctx,
      );
      const seen = model.requests.slice(before);
      // The probe really ran and its output went back to the model…
      expect(seen.some((r) => r.rawBody.includes('IS_SANDBOX=1'))).toBe(true);
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

  it('loop: stops at maxTurns with agent_max_turns', async () => {
    const h = await harness();
    const { ctx, usage } = context();
    const err = await rejectionOf(
      agent.run({ sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:loop]', timeoutMs: 30_000, maxTurns: 2, usage }, ctx),
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
  });

  it('http500: agent_failed, retryable, with the API error in the message', async () => {
    const h = await harness();
    const { ctx, usage } = context();
    const err = await rejectionOf(
      agent.run({ sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:http500]', timeoutMs: 30_000, maxTurns: 5, usage }, ctx),
    );
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('500') });
  });

  it('http401: agent_failed, not retryable', async () => {
    const h = await harness();
    const { ctx, usage } = context();
    const err = await rejectionOf(
      agent.run({ sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: '[scenario:http401]', timeoutMs: 30_000, maxTurns: 5, usage }, ctx),
    );
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('401') });
  });

  it('slow: agent_timeout after timeoutMs, and the CLI is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx, usage } = context();
    const started = Date.now();
    const err = await rejectionOf(
      agent.run(
        { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: `[scenario:slow] ${marker}`, timeoutMs: 3_000, maxTurns: 5, usage },
        ctx,
      ),
    );
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
    const { ctx, events, usage } = context({
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === 'agent.tool_call') toolCalled();
      },
    });
    const started = Date.now();
    const run = rejectionOf(
      agent.run(
        { sandbox: h.sandbox, workdir: h.workdir, scratchDir: h.scratchDir, prompt: `[scenario:slow] ${marker}`, timeoutMs: 60_000, maxTurns: 5, usage },
        ctx,
      ),
    );
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
