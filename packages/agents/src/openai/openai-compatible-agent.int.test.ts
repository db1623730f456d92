import { AppError, type Budget } from '@tinyb/core';
import { agentInput, agentSandboxes, nonce, processWith, recordingRun, text, withEnv, type AgentWorkspace, type RecordingRun } from '@tinyb/testkit/agent-harness';
import { rejectionOf } from '@tinyb/testkit/caught';
import { FAKE_FILES, FAKE_FINAL_TEXT } from '@tinyb/testkit/fake-anthropic';
import { startFakeOpenAi, type FakeOpenAi } from '@tinyb/testkit/fake-openai';
import { LocalSandboxProvider } from '@tinyb/sandbox';
import { OpenAiCompatibleAgent, type OpenAiCompatibleAgentOptions } from './openai-compatible-agent.js';

jest.setTimeout(60_000);

const pricing = { inputPerMTokUsd: 2, outputPerMTokUsd: 10 };
let model: FakeOpenAi;

beforeAll(async () => {
  model = await startFakeOpenAi();
});
afterAll(async () => {
  await model.close();
});

const harness = agentSandboxes({
  name: 'openai-int',
  provider: (rootDir) => new LocalSandboxProvider({ isolation: 'bwrap', rootDir, killGraceMs: 500 }),
});

/** `r`'s real meter takes the usage: passing its budget aborts the job's signal. */
function runAgent(agent: OpenAiCompatibleAgent, h: AgentWorkspace, r: RecordingRun, prompt: string, limits: { timeoutMs?: number; maxTurns?: number; model?: string } = {}) {
  return agent.run(agentInput(h, prompt, { ...limits, usage: r.meter }), r.ctx);
}

const context = (opts: { budget?: Budget } = {}) => recordingRun({ jobId: 'job-openai-int', ...opts });
const toolMessages = (body: unknown) =>
  ((body as { messages: { role: string; content: string; tool_call_id?: string }[] }).messages ?? []).filter((m) => m.role === 'tool');

describe.each([
  ['streaming', true],
  ['non-streaming', false],
])('OpenAiCompatibleAgent (%s) against the fake model in a bwrap sandbox', (_mode, stream) => {
  const agentWith = (extra: Partial<OpenAiCompatibleAgentOptions> = {}) =>
    new OpenAiCompatibleAgent({ baseUrl: model.url, apiKey: model.apiKey, model: 'fake-model', stream, maxRetries: 1, pricing, ...extra });

  it('write: creates the file, reports usage and streams events live, in order', async () => {
    const h = await harness();
    const r = context();
    const before = model.requests.length;
    const out = await runAgent(agentWith(), h, r, 'Add a hello file');
    expect(out.summary).toBe(FAKE_FINAL_TEXT.write);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.helloPath}`))).toBe(FAKE_FILES.helloContent);

    // 2 responses of 100 in / 20 out at $2 / $10 per million.
    const cost = (200 * 2 + 40 * 10) / 1e6;
    expect(r.meter.total()).toEqual({ inputTokens: 200, outputTokens: 40, costUsd: cost });
    expect(r.events.map((e) => e.event)).toEqual([
      { type: 'agent.usage', inputTokens: 100, outputTokens: 20, costUsd: cost / 2 },
      { type: 'agent.message', text: 'I will create the file.' },
      { type: 'agent.tool_call', tool: 'write_file', callId: expect.any(String), input: { path: FAKE_FILES.helloPath } },
      { type: 'agent.tool_result', tool: 'write_file', callId: expect.any(String), ok: true, output: `wrote ${FAKE_FILES.helloPath} (${FAKE_FILES.helloContent.length} bytes)` },
      { type: 'agent.usage', inputTokens: 200, outputTokens: 40, costUsd: cost },
      { type: 'agent.message', text: FAKE_FINAL_TEXT.write },
    ]);

    const seen = model.requests.slice(before);
    expect(seen).toHaveLength(2);
    // Live: the tool's events were out before the model was asked again.
    const toolResult = r.events.find((e) => e.event.type === 'agent.tool_result');
    expect(toolResult!.at).toBeLessThanOrEqual(seen[1]!.receivedAt);
    for (const req of seen) {
      expect(req.headers.authorization).toBe(`Bearer ${model.apiKey}`);
      const body = req.body as Record<string, unknown>;
      expect(body.model).toBe('fake-model');
      expect(body.stream ?? false).toBe(stream);
      expect(body.stream_options).toEqual(stream ? { include_usage: true } : undefined);
      expect((body.tools as { function: { name: string } }[]).map((t) => t.function.name)).toEqual([
        'list_files',
        'read_file',
        'write_file',
        'edit_file',
        'search_text',
        'run_command',
      ]);
    }
    // The second call carries the assistant's tool call and its result, linked by id.
    const tools = toolMessages(seen[1]!.body);
    expect(tools).toEqual([{ role: 'tool', tool_call_id: expect.stringMatching(/^call_fake_1_/), content: expect.stringContaining('wrote HELLO.md') }]);
  });

  it('edit: reads, then changes the line in README.md', async () => {
    const h = await harness();
    const r = context();
    const out = await runAgent(agentWith(), h, r, 'Edit [scenario:edit]', { model: 'job-model' });
    expect(out.summary).toBe(FAKE_FINAL_TEXT.edit);
    const readme = text(await h.sandbox.readFile(`${h.workdir}/README.md`));
    expect(readme).toBe(`# Demo\n\n${FAKE_FILES.readmeNewLine}\n`);
    expect(r.events.map((e) => e.event)).toContainEqual({
      type: 'agent.tool_call',
      tool: 'edit_file',
      callId: expect.any(String),
      input: { path: FAKE_FILES.readmePath, oldText: FAKE_FILES.readmeOldLine, newText: FAKE_FILES.readmeNewLine },
    });
    // read_file's content went back to the model; the job's model overrides the default.
    const last = model.requests.at(-1)!;
    expect(toolMessages(last.body)[0]?.content).toContain(FAKE_FILES.readmeOldLine);
    expect((last.body as { model: string }).model).toBe('job-model');
  });

  it('multi: parallel tool calls add, edit and delete files', async () => {
    const h = await harness();
    const r = context();
    const out = await runAgent(agentWith(), h, r, '[scenario:multi]');
    expect(out.summary).toBe(FAKE_FINAL_TEXT.multi);
    expect(text(await h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.notesPath}`))).toBe(FAKE_FILES.notesContent);
    expect(text(await h.sandbox.readFile(`${h.workdir}/README.md`))).toContain(FAKE_FILES.readmeNewLine);
    await expect(h.sandbox.readFile(`${h.workdir}/${FAKE_FILES.obsoletePath}`)).rejects.toThrow();
    const status = await h.sandbox.exec(['git', 'status', '--porcelain'], { cwd: h.workdir });
    expect(status.stdout).toContain(FAKE_FILES.notesPath);
    const calls = r.events.flatMap((e) => (e.event.type === 'agent.tool_call' ? [e.event.tool] : []));
    expect(calls).toEqual(['write_file', 'read_file', 'edit_file', 'run_command']);
    const results = r.events.flatMap((e) => (e.event.type === 'agent.tool_result' ? [e.event] : []));
    expect(results.map((e) => e.ok)).toEqual([true, true, true, true]);
    expect(results[3]?.output).toBe('exit code 0 (no output)');
    // Each result is linked to its own call.
    const callIds = r.events.flatMap((e) => (e.event.type === 'agent.tool_call' ? [e.event.callId] : []));
    expect(results.map((e) => e.callId)).toEqual(callIds);
    expect(new Set(callIds).size).toBe(4);
  });

  it('noop: succeeds with the model’s words and no tool calls', async () => {
    const h = await harness();
    const r = context();
    const out = await runAgent(agentWith(), h, r, '[scenario:noop]');
    expect(out.summary).toBe(FAKE_FINAL_TEXT.noop);
    expect(r.events.map((e) => e.event.type)).toEqual(['agent.usage', 'agent.message']);
  });

  it('env-probe: the command’s output goes back to the model, the worker’s tokens do not', async () => {
    const canary = `ghp_canary${nonce()}`;
    const keys = ['GITHUB_TOKEN', 'GH_TOKEN', 'OPENAI_API_KEY', 'OPENAI_ORG_ID', 'OPENAI_PROJECT_ID'];
    await withEnv(Object.fromEntries(keys.map((k) => [k, canary])), async () => {
      const h = await harness();
      const r = context();
      const before = model.requests.length;
      const out = await runAgent(agentWith(), h, r, '[scenario:env-probe]');
      expect(out.summary).toBe('Done probing.');
      const seen = model.requests.slice(before);
      // The probe really ran in the sandbox and its output reached the model…
      expect(toolMessages(seen.at(-1)!.body)[0]?.content).toContain(`HOME=${h.scratchDir}/home`);
      // …without the token anywhere: not in a body, not in a header (no env-derived organization or key).
      for (const req of model.requests) {
        expect(req.rawBody).not.toContain(canary);
        expect(JSON.stringify(req.headers)).not.toContain(canary);
      }
      expect(JSON.stringify(r.events)).not.toContain(canary);
    });
  });

  it('tool errors go back to the model as results, and the run goes on', async () => {
    const h = await harness();
    const r = context();
    const before = model.requests.length;
    const out = await runAgent(agentWith(), h, r, '[scenario:tool-errors]');
    expect(out.summary).toBe('Done despite errors.');
    const results = r.events.flatMap((e) => (e.event.type === 'agent.tool_result' ? [e.event] : []));
    expect(results.map((e) => [e.tool, e.ok])).toEqual([
      ['read_file', false],
      ['edit_file', false],
      ['delete_everything', false],
      ['write_file', false],
    ]);
    const sent = toolMessages(model.requests.at(-1)!.body).map((m) => m.content);
    expect(sent).toEqual([
      expect.stringContaining('outside the repository'),
      expect.stringContaining('not found'),
      expect.stringContaining('unknown tool "delete_everything"'),
      expect.stringContaining('not valid JSON'),
    ]);
    expect(model.requests.length - before).toBe(2);
    expect(text(await h.sandbox.readFile(`${h.workdir}/README.md`))).toContain(FAKE_FILES.readmeOldLine);
    await expect(h.sandbox.readFile(`${h.workdir}/cut-off.md`)).rejects.toThrow();
  });

  it('loop: stops at maxTurns with agent_max_turns', async () => {
    const h = await harness();
    const r = context();
    const before = model.requests.length;
    const err = await rejectionOf(runAgent(agentWith(), h, r, '[scenario:loop]', { maxTurns: 3 }));
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'agent_max_turns', retryable: false });
    expect(model.requests.length - before).toBe(3);
  });

  it('http500: agent_failed, retryable, after the client’s own retry', async () => {
    const h = await harness();
    const r = context();
    const before = model.requests.length;
    const err = await rejectionOf(runAgent(agentWith(), h, r, '[scenario:http500]'));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('500') });
    expect(model.requests.length - before).toBe(2);
  });

  it('http401: agent_failed, not retryable, not retried', async () => {
    const h = await harness();
    const r = context();
    const before = model.requests.length;
    const err = await rejectionOf(runAgent(agentWith(), h, r, '[scenario:http401]'));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false, message: expect.stringContaining('401') });
    expect(model.requests.length - before).toBe(1);
  });

  it('without an API key, sends no Authorization header at all', async () => {
    const h = await harness();
    const r = context();
    const err = await rejectionOf(runAgent(agentWith({ apiKey: undefined }), h, r, '[scenario:noop]'));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: false });
    expect(model.requests.at(-1)?.headers.authorization).toBeUndefined();
  });

  it('token budget: the real meter aborts the job and the loop stops with budget_exceeded', async () => {
    const h = await harness();
    // 120 tokens per response: the second response passes 150.
    const r = context({ budget: { maxTokens: 150 } });
    const before = model.requests.length;
    const err = await rejectionOf(runAgent(agentWith(), h, r, '[scenario:loop]', { maxTurns: 10 }));
    expect(err).toMatchObject({ code: 'budget_exceeded' });
    expect(model.requests.length - before).toBe(2);
    expect(r.meter.total()).toMatchObject({ inputTokens: 200, outputTokens: 40 });
    // The run stopped right after the report: the second response's tool never ran.
    expect(r.events.filter((e) => e.event.type === 'agent.tool_call')).toHaveLength(1);
  });

  it('unreachable endpoint: agent_failed, retryable', async () => {
    const h = await harness();
    const r = context();
    const err = await rejectionOf(runAgent(agentWith({ baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 }), h, r, 'anything'));
    expect(err).toMatchObject({ code: 'agent_failed', retryable: true, message: expect.stringContaining('could not reach') });
  });
});

describe.each([
  ['streaming', true],
  ['non-streaming', false],
])('OpenAiCompatibleAgent (%s): deadlines and cancellation', (_mode, stream) => {
  const agent = () => new OpenAiCompatibleAgent({ baseUrl: model.url, apiKey: model.apiKey, model: 'fake-model', stream, maxRetries: 1 });

  it('slow: agent_timeout after timeoutMs, and the command is gone', async () => {
    const h = await harness();
    const marker = nonce();
    const r = context();
    const started = Date.now();
    const err = await rejectionOf(runAgent(agent(), h, r, `[scenario:slow] [marker:${marker}]`, { timeoutMs: 3_000 }));
    expect(err).toMatchObject({ code: 'agent_timeout' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await processWith(marker)).toBe(false);
  });

  it('a command longer than commandTimeoutMs is killed and reported to the model, and the run goes on', async () => {
    const h = await harness();
    const marker = nonce();
    const r = context();
    const out = await runAgent(
      new OpenAiCompatibleAgent({ baseUrl: model.url, apiKey: model.apiKey, model: 'fake-model', stream, commandTimeoutMs: 1_000 }),
      h,
      r,
      `[scenario:slow] [marker:${marker}]`,
    );
    expect(out.summary).toBe('Finished waiting.');
    const result = r.events.find((e) => e.event.type === 'agent.tool_result')?.event;
    expect(result).toMatchObject({ ok: false, output: expect.stringContaining('killed after 1000 ms') });
    expect(await processWith(marker)).toBe(false);
  });

  it('abort mid-run: rejects with the signal’s reason and kills the command', async () => {
    const h = await harness();
    const marker = nonce();
    const r = context();
    const started = Date.now();
    const run = rejectionOf(runAgent(agent(), h, r, `[scenario:slow] [marker:${marker}]`, { timeoutMs: 60_000 }));
    await r.eventSeen('agent.tool_call');
    // The command starts right after its event; wait until it is visibly running.
    for (let i = 0; i < 50 && !(await processWith(marker)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await processWith(marker)).toBe(true);
    r.controller.abort(new AppError('cancelled', 'test abort'));
    const err = await run;
    expect(err).toMatchObject({ code: 'cancelled', message: 'test abort' });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.events.map((e) => e.event.type)).toEqual(['agent.usage', 'agent.message', 'agent.tool_call']);
    expect(await processWith(marker)).toBe(false);
  });

  it('an already aborted signal stops the run before any request', async () => {
    const h = await harness();
    const r = context();
    r.controller.abort(new AppError('cancelled', 'before start'));
    const before = model.requests.length;
    await expect(runAgent(agent(), h, r, 'anything')).rejects.toMatchObject({ code: 'cancelled', message: 'before start' });
    expect(model.requests.length).toBe(before);
  });
});
