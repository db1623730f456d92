import { AppError, type UsageMeter } from '@tinyb/core';
import { agentInput, agentSandboxes, nonce, processWith, recordingRun, text, withEnv, type AgentWorkspace } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { FAKE_FILES, FAKE_FINAL_TEXT, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { ClaudeCodeAgent } from './claude-code-agent.js';
import { resolveClaudeExecutable } from './resolve-claude-executable.js';

jest.setTimeout(60_000);

const executable = resolveClaudeExecutable();

let model: FakeAnthropic;
let agent: ClaudeCodeAgent;

beforeAll(async () => {
  model = await startFakeAnthropic();
  agent = new ClaudeCodeAgent({ executable, apiKey: model.apiKey, baseUrl: model.url, maxApiRetries: 1 });
});
afterAll(async () => {
  await model.close();
});

const harness = agentSandboxes({
  name: 'claude-int',
  // The sandbox's network is sealed: the CLI reaches the fake only through its socket, at the same URL.
  provider: (rootDir) => new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500, network: { forwards: [model.sandboxForward] } }),
  toolPaths: () => agent.toolPaths,
  isAgentCommand: (argv) => argv[0] === executable,
});

/** Five turns unless said otherwise. */
const input = (h: AgentWorkspace, prompt: string, usage: UsageMeter, limits: { timeoutMs?: number; maxTurns?: number } = {}) =>
  agentInput(h, prompt, { usage, maxTurns: 5, ...limits });

describe('ClaudeCodeAgent with the real claude CLI in a bwrap sandbox', () => {
  it('write: creates the file and streams events live, in order', async () => {
    const h = await harness();
    const { ctx, events, meter: usage } = recordingRun();
    const out = await agent.run(input(h, 'Add a hello file', usage), ctx);
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
    const { ctx, events, meter } = recordingRun();
    const out = await agent.run(input(h, 'Edit [scenario:edit]', meter), ctx);
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
    const { ctx, events, meter } = recordingRun();
    const out = await agent.run(input(h, '[scenario:multi]', meter, { maxTurns: 10 }), ctx);
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
    const { ctx, events, meter } = recordingRun();
    const out = await agent.run(input(h, '[scenario:noop]', meter), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.noop);
    expect(events.map((e) => e.event.type).filter((t) => t !== 'agent.usage')).toEqual(['agent.message']);
    expect(events.at(-1)!.event.type).toBe('agent.usage');
  });

  it('env-probe: a token in the worker’s environment never reaches the sandbox or the model', async () => {
    const canary = `ghp_canary${nonce()}`;
    await withEnv({ GITHUB_TOKEN: canary, GH_TOKEN: canary }, async () => {
      const h = await harness();
      const before = model.requests.length;
      const { ctx, events, meter } = recordingRun();
      await agent.run(input(h, '[scenario:env-probe]', meter), ctx);
      const seen = model.requests.slice(before);
      // The probe really ran and its output went back to the model…
      expect(seen.some((r) => r.rawBody.includes('IS_SANDBOX=1'))).toBe(true);
      // …without the token, anywhere.
      for (const r of model.requests) expect(r.rawBody).not.toContain(canary);
      expect(JSON.stringify(events)).not.toContain(canary);
    });
  });

  it('loop: stops at maxTurns with agent_max_turns', async () => {
    const h = await harness();
    const { ctx, meter } = recordingRun();
    const err = await rejectionOf(agent.run(input(h, '[scenario:loop]', meter, { maxTurns: 2 }), ctx));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
  });

  it('http500: agent_failed, retryable, with the API error in the message', async () => {
    const h = await harness();
    const { ctx, meter } = recordingRun();
    const err = await rejectionOf(agent.run(input(h, '[scenario:http500]', meter), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('500') });
  });

  it('http401: agent_failed, not retryable', async () => {
    const h = await harness();
    const { ctx, meter } = recordingRun();
    const err = await rejectionOf(agent.run(input(h, '[scenario:http401]', meter), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('401') });
  });

  it('slow: agent_timeout after timeoutMs, and the CLI is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx, meter } = recordingRun();
    const started = Date.now();
    const err = await rejectionOf(agent.run(input(h, `[scenario:slow] ${marker}`, meter, { timeoutMs: 3_000 }), ctx));
    expect(err).toMatchObject({ code: 'agent_timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await processWith(marker)).toBe(false);
  });

  it('abort mid-run: rejects with the sandbox’s rejection and kills the CLI', async () => {
    const h = await harness();
    const marker = nonce();
    const r = recordingRun();
    const started = Date.now();
    const run = rejectionOf(agent.run(input(h, `[scenario:slow] ${marker}`, r.meter, { timeoutMs: 60_000 }), r.ctx));
    // The model has asked for the long command: the CLI is now running it, and visibly alive.
    await r.eventSeen('agent.tool_call');
    expect(await processWith(marker)).toBe(true);
    r.controller.abort(new AppError('cancelled', 'test abort'));
    const err = await run;
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.events[0]?.event).toEqual({ type: 'agent.message', text: 'This will take a while.' });
    expect(await processWith(marker)).toBe(false);
  });
});
