import { AppError, type UsageMeter } from '@tinyb/core';
import { agentInput, agentSandboxes, nonce, processWith, recordingMeter, recordingRun, text, withEnv, type AgentWorkspace } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { FAKE_FILES, FAKE_FINAL_TEXT } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { GeminiAgent } from './gemini-agent.js';
import { resolveGeminiCli } from './resolve-gemini-cli.js';

jest.setTimeout(60_000);

const executable = resolveGeminiCli();

let model: FakeGemini;
let agent: GeminiAgent;

beforeAll(async () => {
  model = await startFakeGemini();
  // One attempt per request: the CLI's backoff starts at 5 s.
  agent = new GeminiAgent({ executable, apiKey: model.apiKey, baseUrl: model.url, maxApiAttempts: 1 });
});
afterAll(async () => {
  await model.close();
});

const harness = agentSandboxes({
  name: 'gemini-int',
  // The sandbox's network is sealed: the CLI reaches the fake only through its socket, at the same URL.
  provider: (rootDir) => new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500, network: { forwards: [model.sandboxForward] } }),
  toolPaths: () => agent.toolPaths,
  // The CLI runs as `node <cli>`.
  isAgentCommand: (argv) => argv[1] === executable,
});

/** Usage goes to a meter that only records it (so no agent.usage among the events); tests that check usage pass their own. */
function runInput(h: AgentWorkspace, prompt: string, extra: { timeoutMs?: number; maxTurns?: number; usage?: UsageMeter } = {}) {
  return agentInput(h, prompt, { ...extra, usage: extra.usage ?? recordingMeter() });
}

describe('GeminiAgent with the real gemini CLI in a bwrap sandbox', () => {
  it('write: creates the file, streams events live and in order, reports usage', async () => {
    const h = await harness();
    const { ctx, events } = recordingRun();
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
    const { ctx, events } = recordingRun();
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
    const { ctx, events } = recordingRun();
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
    const { ctx, events } = recordingRun();
    const out = await agent.run(runInput(h, '[scenario:noop]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.noop);
    expect(events.map((e) => e.event)).toEqual([{ type: 'agent.message', text: FAKE_FINAL_TEXT.noop }]);
  });

  it('env-probe: a token in the worker’s environment never reaches the sandbox or the model', async () => {
    const canary = `ghp_canary${nonce()}`;
    await withEnv({ GITHUB_TOKEN: canary, GH_TOKEN: canary }, async () => {
      const h = await harness();
      const before = model.requests.length;
      const { ctx, events } = recordingRun();
      await agent.run(runInput(h, '[scenario:env-probe]'), ctx);
      const seen = model.requests.slice(before);
      // The probe really ran (the CLI's own variables are in its output) and went back to the model…
      expect(seen.some((r) => r.rawBody.includes('GEMINI_CLI_NO_RELAUNCH'))).toBe(true);
      // …without the token, anywhere.
      for (const r of model.requests) expect(r.rawBody).not.toContain(canary);
      expect(JSON.stringify(events)).not.toContain(canary);
    });
  });

  it('loop: stops at maxTurns with agent_max_turns, usage still reported', async () => {
    const h = await harness();
    const { ctx, events } = recordingRun();
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
    const { ctx } = recordingRun();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:loop]', { maxTurns: 2 }), ctx));
    expect(err).toMatchObject({ code: 'agent_max_turns' });
  });

  it('http500: agent_failed, retryable, with the API error in the message', async () => {
    const h = await harness();
    const { ctx } = recordingRun();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http500]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 500') });
  });

  it('http429: agent_failed, retryable', async () => {
    const h = await harness();
    const { ctx } = recordingRun();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http429]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('HTTP 429') });
  });

  it('http401: agent_failed, not retryable', async () => {
    const h = await harness();
    const { ctx } = recordingRun();
    const err = await rejectionOf(agent.run(runInput(h, '[scenario:http401]'), ctx));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('401') });
  });

  it('slow: agent_timeout after timeoutMs, and the CLI is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx } = recordingRun();
    const started = Date.now();
    const err = await rejectionOf(agent.run(runInput(h, `[scenario:slow] ${marker}`, { timeoutMs: 4_000 }), ctx));
    expect(err).toMatchObject({ code: 'agent_timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await processWith(marker)).toBe(false);
  });

  it('abort mid-run: rejects with the sandbox’s rejection and kills the CLI', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx, events, controller, eventSeen } = recordingRun();
    const started = Date.now();
    const run = rejectionOf(agent.run(runInput(h, `[scenario:slow] ${marker}`, { timeoutMs: 60_000 }), ctx));
    // The model has asked for the long command: the CLI is now running it, and visibly alive.
    await eventSeen('agent.tool_call');
    expect(await processWith(marker)).toBe(true);
    controller.abort(new AppError('cancelled', 'test abort'));
    const err = await run;
    expect(err).toMatchObject({ code: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(events[0]?.event).toEqual({ type: 'agent.message', text: 'This will take a while.' });
    expect(await processWith(marker)).toBe(false);
  });
});
