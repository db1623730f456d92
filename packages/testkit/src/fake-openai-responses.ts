import type { ServerResponse } from 'node:http';
import { FAKE_FILES, FAKE_FINAL_TEXT, FAKE_USAGE_PER_CALL } from './fake-anthropic.js';
import {
  isRecord,
  scenarioIn,
  sendJson,
  startEventStream,
  startFakeModelServer,
  turnAfter,
  writeEvent,
  type FakeModelApi,
  type ModelScenario,
  type RecordedModelRequest,
} from './fake-model-server.js';
import { SANDBOX_PROBE_SHELL_LINE } from './sandbox-probe.js';

/**
 * A scripted OpenAI Responses API (`POST /v1/responses`, server-sent events) for running the real Codex CLI
 * (`wire_api = "responses"`) offline.
 *
 * It plays the same scenarios as the other fakes, with the same tags, files and final texts, so a pipeline test
 * reads the same whichever agent it runs: `[scenario:write|edit|multi|env-probe|noop|slow|loop|http500|http401|
 * http429]` in a user message (default `write`). Tool calls are the Codex CLI's own: `exec_command` (a function,
 * `{cmd}`) and `apply_patch` (a freeform custom tool taking a patch, offered for catalog models such as
 * `gpt-5.5`). Patches name files relative to the working directory, which the CLI resolves.
 *
 * Stateless on purpose: the CLI sends the whole conversation on every call (`store: false`), so the next turn is
 * chosen from the number of tool outputs (`function_call_output`, `custom_tool_call_output`) already in `input`.
 * A turn may call several tools at once; it then counts for that many outputs. Each reply is what the CLI
 * needs: one `response.output_item.done` per item, then `response.completed` with the call's usage.
 */

type ToolCall = { kind: 'function'; name: string; args: Record<string, unknown> } | { kind: 'custom'; name: string; input: string };

/** One model turn: optional text, then tool calls, or none (the turn ends the run). */
interface Turn {
  text?: string;
  tools?: ToolCall[];
}

type Scenario = ModelScenario<Turn, void, { errorType: string; code: string }>;

const exec = (cmd: string): ToolCall => ({ kind: 'function', name: 'exec_command', args: { cmd } });
const patch = (...sections: string[]): ToolCall => ({ kind: 'custom', name: 'apply_patch', input: `*** Begin Patch\n${sections.join('')}*** End Patch\n` });
const addFile = (path: string, content: string) => `*** Add File: ${path}\n${content.replace(/\n$/, '').split('\n').map((l) => `+${l}\n`).join('')}`;
const editReadme = () =>
  patch(`*** Update File: ${FAKE_FILES.readmePath}\n@@\n-${FAKE_FILES.readmeOldLine}\n+${FAKE_FILES.readmeNewLine}\n`);

/** Every scenario, in one table. */
const SCENARIOS: Record<string, Scenario> = {
  write: {
    kind: 'script',
    turns: () => [{ text: 'I will create the file.', tools: [patch(addFile(FAKE_FILES.helloPath, FAKE_FILES.helloContent))] }, { text: FAKE_FINAL_TEXT.write }],
  },
  edit: {
    kind: 'script',
    turns: () => [{ text: 'Let me read the README first.', tools: [exec(`cat ${FAKE_FILES.readmePath}`)] }, { tools: [editReadme()] }, { text: FAKE_FINAL_TEXT.edit }],
  },
  multi: {
    kind: 'script',
    turns: () => [
      // Two calls in one response, as parallel tool calls arrive.
      { text: 'Three changes coming.', tools: [patch(addFile(FAKE_FILES.notesPath, FAKE_FILES.notesContent)), exec(`cat ${FAKE_FILES.readmePath}`)] },
      { tools: [editReadme()] },
      { tools: [exec(`rm ${FAKE_FILES.obsoletePath}`)] },
      { text: FAKE_FINAL_TEXT.multi },
    ],
  },
  'env-probe': {
    kind: 'script',
    turns: () => [{ text: 'Let me look at the environment.', tools: [exec(SANDBOX_PROBE_SHELL_LINE)] }, { text: 'Done probing.' }],
  },
  noop: { kind: 'script', turns: () => [{ text: FAKE_FINAL_TEXT.noop }] },
  slow: {
    kind: 'script',
    // The CLI waits for a command up to its yield time, then reports it as still running; ask for the longest.
    turns: () => [
      { text: 'This will take a while.', tools: [{ kind: 'function', name: 'exec_command', args: { cmd: 'sleep 60', yield_time_ms: 120_000 } }] },
      { text: 'Finished waiting.' },
    ],
  },
  loop: {
    kind: 'forever',
    turn: (_input, n) => ({ text: `Looping, round ${n}.`, tools: [exec(`echo round-${n}`)] }),
  },
  http500: { kind: 'error', status: 500, errorType: 'server_error', code: 'server_error' },
  http401: { kind: 'error', status: 401, errorType: 'invalid_request_error', code: 'invalid_api_key' },
  http429: { kind: 'error', status: 429, errorType: 'requests', code: 'rate_limit_exceeded' },
};

export type FakeOpenAiResponsesScenario = keyof typeof SCENARIOS;

/** `url` is the base URL ending in `/v1`: a Codex provider's `base_url` (the CLI appends `/responses`). */
export type FakeOpenAiResponses = FakeModelApi<RecordedModelRequest>;

export async function startFakeOpenAiResponses(opts: { apiKey?: string } = {}): Promise<FakeOpenAiResponses> {
  const apiKey = opts.apiKey ?? 'sk-fake-openai-responses-key';
  const requests: RecordedModelRequest[] = [];
  let counter = 0;

  const server = await startFakeModelServer('fake-openai-responses', ({ method, url, path, headers, rawBody, body }, res) => {
    if (method !== 'POST' || path !== '/v1/responses') {
      sendError(res, 404, 'invalid_request_error', 'unknown_url', `Unknown request URL: ${method} ${path}`);
      return;
    }
    const scenarioName = scenarioOf(body);
    requests.push({ method, url, headers, rawBody, body, scenario: scenarioName });

    if (headers.authorization !== `Bearer ${apiKey}`) {
      sendError(res, 401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.');
      return;
    }
    if (!isRecord(body) || !Array.isArray(body.input)) {
      sendError(res, 400, 'invalid_request_error', 'invalid_body', 'The body is not a Responses request.');
      return;
    }
    const scenario = SCENARIOS[scenarioName];
    if (!scenario) {
      sendError(res, 400, 'invalid_request_error', 'unknown_scenario', `unknown scenario ${scenarioName}`);
      return;
    }
    if (scenario.kind === 'error') {
      sendError(res, scenario.status, scenario.errorType, scenario.code, `fake ${scenario.status}`);
      return;
    }
    const done = toolOutputCount(body.input);
    const turn = turnAfter(scenario, undefined, done, (t) => t.tools?.length ?? 0) ?? { text: 'Done.' };
    streamTurn(res, turn, { responseId: `resp_fake_${++counter}`, model: typeof body.model === 'string' ? body.model : 'fake-model', callPrefix: `call_fake_${done + 1}_${counter}` });
  });

  return { url: `${server.origin}/v1`, apiKey, requests, sandboxForward: server.sandboxForward, close: server.close };
}

interface Ids {
  responseId: string;
  model: string;
  callPrefix: string;
}

function streamTurn(res: ServerResponse, turn: Turn, ids: Ids): void {
  startEventStream(res, { 'x-request-id': `req_${ids.responseId}` });
  const send = (data: { type: string } & Record<string, unknown>) => writeEvent(res, JSON.stringify(data), data.type);
  const response = { id: ids.responseId, object: 'response', created_at: Math.floor(Date.now() / 1000), model: ids.model };
  send({ type: 'response.created', response: { ...response, status: 'in_progress', output: [], usage: null } });
  const output: Record<string, unknown>[] = [];
  if (turn.text !== undefined) {
    output.push({ type: 'message', id: `msg_${ids.responseId}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text, annotations: [] }] });
  }
  for (const [i, call] of (turn.tools ?? []).entries()) {
    const callId = `${ids.callPrefix}_${i}`;
    output.push(
      call.kind === 'function'
        ? { type: 'function_call', id: `fc_${callId}`, call_id: callId, name: call.name, arguments: JSON.stringify(call.args), status: 'completed' }
        : { type: 'custom_tool_call', id: `ctc_${callId}`, call_id: callId, name: call.name, input: call.input, status: 'completed' },
    );
  }
  for (const [outputIndex, item] of output.entries()) send({ type: 'response.output_item.done', output_index: outputIndex, item });
  const usage = {
    input_tokens: FAKE_USAGE_PER_CALL.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: FAKE_USAGE_PER_CALL.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: FAKE_USAGE_PER_CALL.inputTokens + FAKE_USAGE_PER_CALL.outputTokens,
  };
  send({ type: 'response.completed', response: { ...response, status: 'completed', output, usage } });
  res.end();
}

function sendError(res: ServerResponse, status: number, type: string, code: string, message: string): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, { 'x-request-id': `req_fake_err_${status}` });
}

/**
 * The tag from the user's own words. The CLI sends its context (`<environment_context>`, AGENTS.md) as user
 * messages too, and tool output comes back as `*_output` items, never as messages: a probe that prints a tag
 * cannot switch scenarios.
 */
function scenarioOf(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.input)) return 'write';
  const texts = body.input
    .filter((item): item is Record<string, unknown> => isRecord(item) && item.type === 'message' && item.role === 'user')
    .flatMap((item) => (Array.isArray(item.content) ? item.content : []))
    .flatMap((part: unknown) => (isRecord(part) && part.type === 'input_text' && typeof part.text === 'string' ? [part.text] : []));
  return scenarioIn(texts);
}

function toolOutputCount(input: unknown[]): number {
  return input.filter((item) => isRecord(item) && (item.type === 'function_call_output' || item.type === 'custom_tool_call_output')).length;
}
