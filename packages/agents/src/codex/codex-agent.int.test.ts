import { AppError, type UsageMeter } from '@tinyb/core';
import { agentInput, agentSandboxes, nonce, processWith, recordingMeter, recordingRun, text, withEnv, type AgentWorkspace } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { FAKE_FILES, FAKE_FINAL_TEXT } from '@tinyb/testkit/fake-anthropic';
import { startFakeOpenAiResponses, type FakeOpenAiResponses } from '@tinyb/testkit/fake-openai-responses';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { CodexAgent } from './codex-agent.js';
import { resolveCodexExecutable } from './resolve-codex-executable.js';

jest.setTimeout(60_000);

const executable = resolveCodexExecutable();

let model: FakeOpenAiResponses;
let agent: CodexAgent;

beforeAll(async () => {
  model = await startFakeOpenAiResponses();
  // No retries: the CLI backs off between them.
  agent = new CodexAgent({ executable, apiKey: model.apiKey, baseUrl: model.url, maxApiRetries: 0 });
});
afterAll(async () => {
  await model.close();
});

const harness = agentSandboxes({
  name: 'codex-int',
  // The sandbox's network is sealed: the CLI reaches the fake only through its socket, at the same URL.
  provider: (rootDir) => new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500, network: { forwards: [model.sandboxForward] } }),
  toolPaths: () => agent.toolPaths,
  isAgentCommand: (argv) => argv[0] === executable,
});

/** Usage goes to a meter that only records it (so no agent.usage among the events); tests that check usage pass their own. */
function runInput(h: AgentWorkspace, prompt: string, extra: { timeoutMs?: number; maxTurns?: number; usage?: UsageMeter } = {}) {
  return agentInput(h, prompt, { ...extra, usage: extra.usage ?? recordingMeter() });
}

describe('CodexAgent with the real codex CLI in a bwrap sandbox', () => {
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
      { type: 'agent.tool_call', tool: 'apply_patch', callId: expect.any(String), input: { path: FAKE_FILES.helloPath } },
      { type: 'agent.tool_result', tool: 'apply_patch', callId: expect.any(String), ok: true, output: `add ${FAKE_FILES.helloPath}` },
      { type: 'agent.message', text: FAKE_FINAL_TEXT.write },
    ]);
    const endedAt = h.execEndedAt();
    expect(endedAt).toBeDefined();
    expect(events[0]!.at).toBeLessThan(endedAt!);

    // Only the model API, with the key it was given, from the provider our config defines.
    const seen = model.requests.slice(before);
    expect(seen.map((r) => `${r.method} ${r.url}`)).toEqual(['POST /v1/responses', 'POST /v1/responses']);
    for (const r of seen) expect(r.headers.authorization).toBe(`Bearer ${model.apiKey}`);
    expect(seen[0]!.body).toMatchObject({ model: 'gpt-5.5', stream: true });
  });

  it('edit: changes the line in README.md', async () => {
    const h = await harness();
    const { ctx, events } = recordingRun();
    const out = await agent.run(runInput(h, 'Edit [scenario:edit]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.edit);
    const readme = text(await h.sandbox.readFile(`${h.workdir}/README.md`));
    expect(readme).toContain(FAKE_FILES.readmeNewLine);
    expect(readme).not.toContain(FAKE_FILES.readmeOldLine);
    expect(events.map((e) => e.event)).toEqual([
      { type: 'agent.message', text: 'Let me read the README first.' },
      { type: 'agent.tool_call', tool: 'exec_command', callId: expect.any(String), input: { command: `cat ${FAKE_FILES.readmePath}` } },
      { type: 'agent.tool_result', tool: 'exec_command', callId: expect.any(String), ok: true, output: expect.stringContaining(FAKE_FILES.readmeOldLine) },
      { type: 'agent.tool_call', tool: 'apply_patch', callId: expect.any(String), input: { path: FAKE_FILES.readmePath } },
      { type: 'agent.tool_result', tool: 'apply_patch', callId: expect.any(String), ok: true, output: `update ${FAKE_FILES.readmePath}` },
      { type: 'agent.message', text: FAKE_FINAL_TEXT.edit },
    ]);
  });

  it('multi: adds, edits and deletes files', async () => {
    const h = await harness();
    const { ctx, events } = recordingRun();
    const out = await agent.run(runInput(h, '[scenario:multi]'), ctx);
    expect(out.summary).toBe(FAKE_FINAL_TEXT.multi);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.notesPath}`))).toBe(FAKE_FILES.notesContent);
    expect(text(await h.sandbox.readFile(`${h.workdir}/README.md`))).toContain(FAKE_FILES.readmeNewLine);
    await expect(h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.obsoletePath}`)).rejects.toThrow();
    const calls = events.flatMap((e) => (e.event.type === 'agent.tool_call' ? [[e.event.tool, e.event.input.path ?? e.event.input.command]] : []));
    // Codex reports a patch when its item completes, which may come after the next command's: the calls are
    // all there, each once, but not always in the model's order.
    expect(calls).toHaveLength(4);
    expect(calls).toEqual(
      expect.arrayContaining([
        ['apply_patch', FAKE_FILES.notesPath],
        ['exec_command', `cat ${FAKE_FILES.readmePath}`],
        ['apply_patch', FAKE_FILES.readmePath],
        ['exec_command', `rm ${FAKE_FILES.obsoletePath}`],
      ]),
    );
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

  it('a prompt that looks like an option or a subcommand is the prompt', async () => {
    const h = await harness();
    const before = model.requests.length;
    const { ctx } = recordingRun();
    await agent.run(runInput(h, '--help [scenario:noop]'), ctx);
    await agent.run(runInput(h, 'resume [scenario:noop]'), ctx);
    const prompts = model.requests.slice(before).map((r) => r.rawBody);
    expect(prompts[0]).toContain('--help [scenario:noop]');
    expect(prompts[1]).toContain('resume [scenario:noop]');
  });

  it('env-probe: a token in the worker’s environment never reaches the sandbox or the model', async () => {
    const canary = `ghp_canary${nonce()}`;
    await withEnv({ GITHUB_TOKEN: canary, GH_TOKEN: canary, OPENAI_API_KEY: canary }, async () => {
      const h = await harness();
      const before = model.requests.length;
      const { ctx, events } = recordingRun();
      await agent.run(runInput(h, '[scenario:env-probe]'), ctx);
      const seen = model.requests.slice(before);
      const output = seen.map((r) => r.rawBody).join('\n');
      // The probe really ran (its environment is in the output) and went back to the model…
      expect(output).toContain('CODEX_HOME=');
      expect(output).toContain('redis-probe-exit=1');
      // …without the worker's token, anywhere.
      for (const r of model.requests) expect(r.rawBody).not.toContain(canary);
      expect(JSON.stringify(events)).not.toContain(canary);
    });
  });

  it('loop: stops at maxTurns tool calls with agent_max_turns and the CLI is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const { ctx, events } = recordingRun();
    const err = await rejectionOf(agent.run(runInput(h, `[scenario:loop] ${marker}`, { maxTurns: 2 }), ctx));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
    expect(events.filter((e) => e.event.type === 'agent.tool_call')).toHaveLength(2);
    expect(await processWith(marker)).toBe(false);
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
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('HTTP 401') });
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
