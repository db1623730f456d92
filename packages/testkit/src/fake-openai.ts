import { SANDBOX_PROBE_SHELL_LINE } from './sandbox-probe.js';
import type { ServerResponse } from 'node:http';
import { FAKE_FILES, FAKE_FINAL_TEXT, FAKE_USAGE_PER_CALL } from './fake-anthropic.js';
import { isRecord, scenarioIn, sendJson, startEventStream, startFakeModelServer, textsOf, turnAfter, writeEvent, type FakeModelApi, type ModelScenario, type RecordedModelRequest } from './fake-model-server.js';

/**
 * A scripted OpenAI Chat Completions API (`POST /v1/chat/completions`, streaming and not) for running the
 * built-in OpenAI-compatible agent offline.
 *
 * It plays the same scenarios as the other fakes, with the same tags, files and final texts, so a pipeline
 * test reads the same whichever agent it runs: `[scenario:write|edit|multi|env-probe|noop|slow|loop|http500|
 * http401|http429|tool-errors]` in the first user message (default `write`). `slow` runs `sleep 60`; a
 * `[marker:NAME]` tag puts NAME into that command line, so a test can look for the process.
 *
 * Stateless on purpose: the agent resends the whole conversation on every call, so the next turn is chosen
 * from the number of `role: 'tool'` messages already sent. A turn may call several tools at once (as OpenAI's
 * parallel tool calls do); it then counts for that many tool messages.
 */

interface ToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Sent instead of `JSON.stringify(args)`: for arguments that are not valid JSON. */
  rawArguments?: string;
}

/** One model turn: optional text, then tool calls (finish_reason `tool_calls`) or none (`stop`). */
interface Turn {
  text?: string;
  tools?: ToolCall[];
}

interface ScenarioInput {
  /** From a `[marker:NAME]` tag, or `slow`. */
  marker: string;
}

type Scenario = ModelScenario<Turn, ScenarioInput, { errorType: string; code: string }>;

/** Every scenario, in one table, with the built-in agent's tool names and arguments. */
const SCENARIOS: Record<string, Scenario> = {
  write: {
    kind: 'script',
    turns: () => [
      { text: 'I will create the file.', tools: [{ name: 'write_file', args: { path: FAKE_FILES.helloPath, content: FAKE_FILES.helloContent } }] },
      { text: FAKE_FINAL_TEXT.write },
    ],
  },
  edit: {
    kind: 'script',
    turns: () => [
      { text: 'Let me read the README first.', tools: [{ name: 'read_file', args: { path: FAKE_FILES.readmePath } }] },
      {
        tools: [
          { name: 'edit_file', args: { path: FAKE_FILES.readmePath, old_text: FAKE_FILES.readmeOldLine, new_text: FAKE_FILES.readmeNewLine } },
        ],
      },
      { text: FAKE_FINAL_TEXT.edit },
    ],
  },
  multi: {
    kind: 'script',
    turns: () => [
      {
        text: 'Three changes coming.',
        // Two calls in one response, as parallel tool calls arrive.
        tools: [
          { name: 'write_file', args: { path: FAKE_FILES.notesPath, content: FAKE_FILES.notesContent } },
          { name: 'read_file', args: { path: FAKE_FILES.readmePath } },
        ],
      },
      {
        tools: [
          { name: 'edit_file', args: { path: FAKE_FILES.readmePath, old_text: FAKE_FILES.readmeOldLine, new_text: FAKE_FILES.readmeNewLine } },
        ],
      },
      { tools: [{ name: 'run_command', args: { command: `rm ${FAKE_FILES.obsoletePath}` } }] },
      { text: FAKE_FINAL_TEXT.multi },
    ],
  },
  'env-probe': {
    kind: 'script',
    turns: () => [
      { text: 'Let me look at the environment.', tools: [{ name: 'run_command', args: { command: SANDBOX_PROBE_SHELL_LINE } }] },
      { text: 'Done probing.' },
    ],
  },
  noop: { kind: 'script', turns: () => [{ text: FAKE_FINAL_TEXT.noop }] },
  slow: {
    kind: 'script',
    // `&&` keeps the shell (whose command line carries the marker) alive as the parent of sleep.
    turns: ({ marker }) => [
      { text: 'This will take a while.', tools: [{ name: 'run_command', args: { command: `sleep 60 && echo ${marker}` } }] },
      { text: 'Finished waiting.' },
    ],
  },
  loop: {
    kind: 'forever',
    turn: (_input, n) => ({ text: `Looping, round ${n}.`, tools: [{ name: 'run_command', args: { command: `echo round-${n}` } }] }),
  },
  'tool-errors': {
    kind: 'script',
    turns: () => [
      {
        text: 'Trying a few things that cannot work.',
        tools: [
          { name: 'read_file', args: { path: '../outside.txt' } },
          { name: 'edit_file', args: { path: FAKE_FILES.readmePath, old_text: 'text that is not there', new_text: 'x' } },
          { name: 'delete_everything', args: {} },
          { name: 'write_file', args: {}, rawArguments: '{"path": "cut-off.md", "content": "unterminated' },
        ],
      },
      { text: 'Done despite errors.' },
    ],
  },
  http500: { kind: 'error', status: 500, errorType: 'server_error', code: 'server_error' },
  http401: { kind: 'error', status: 401, errorType: 'invalid_request_error', code: 'invalid_api_key' },
  http429: { kind: 'error', status: 429, errorType: 'requests', code: 'rate_limit_exceeded' },
};

export type FakeOpenAiScenario = keyof typeof SCENARIOS;

/** Every /v1/chat/completions request. */
export interface RecordedOpenAiRequest extends RecordedModelRequest {
  /** `Date.now()` on arrival, so tests can prove events were emitted before the next call. */
  receivedAt: number;
}

/** `url` is the base URL ending in `/v1`, for OPENAI_BASE_URL. */
export type FakeOpenAi = FakeModelApi<RecordedOpenAiRequest>;

export async function startFakeOpenAi(opts: { apiKey?: string } = {}): Promise<FakeOpenAi> {
  const apiKey = opts.apiKey ?? 'sk-fake-openai-test-key';
  const requests: RecordedOpenAiRequest[] = [];
  let counter = 0;

  const server = await startFakeModelServer('fake-openai', ({ method, url, path, headers, rawBody, body, receivedAt }, res) => {
    if (method !== 'POST' || path !== '/v1/chat/completions') {
      sendError(res, 404, 'invalid_request_error', 'unknown_url', `Unknown request URL: ${method} ${path}`);
      return;
    }
    const scenarioName = scenarioOf(body);
    requests.push({ method, url, headers, rawBody, body, scenario: scenarioName, receivedAt });

    if (headers.authorization !== `Bearer ${apiKey}`) {
      sendError(res, 401, 'invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.');
      return;
    }
    if (!isRecord(body)) {
      sendError(res, 400, 'invalid_request_error', 'invalid_json', 'The body is not a JSON object.');
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

    const done = toolMessageCount(body);
    const turn = turnAfter(scenario, { marker: markerOf(body) }, done, (t) => t.tools?.length ?? 0) ?? { text: 'Done.' };
    const ids = { model: typeof body.model === 'string' ? body.model : 'fake-model', completionId: `chatcmpl-fake-${++counter}`, callPrefix: `call_fake_${done + 1}_${counter}` };
    if (body.stream === true) {
      const streamOptions = body.stream_options;
      streamTurn(res, turn, ids, isRecord(streamOptions) && streamOptions.include_usage === true);
    } else {
      sendTurn(res, turn, ids);
    }
  });

  return { url: `${server.origin}/v1`, apiKey, requests, sandboxForward: server.sandboxForward, close: server.close };
}

interface Ids {
  model: string;
  completionId: string;
  callPrefix: string;
}

const usageBody = () => ({
  prompt_tokens: FAKE_USAGE_PER_CALL.inputTokens,
  completion_tokens: FAKE_USAGE_PER_CALL.outputTokens,
  total_tokens: FAKE_USAGE_PER_CALL.inputTokens + FAKE_USAGE_PER_CALL.outputTokens,
});
const argumentsOf = (call: ToolCall) => call.rawArguments ?? JSON.stringify(call.args);
const finishReason = (turn: Turn) => (turn.tools?.length ? 'tool_calls' : 'stop');

function sendTurn(res: ServerResponse, turn: Turn, ids: Ids): void {
  const message: Record<string, unknown> = { role: 'assistant', content: turn.text ?? null, refusal: null };
  if (turn.tools?.length) {
    message.tool_calls = turn.tools.map((call, i) => ({ id: `${ids.callPrefix}_${i}`, type: 'function', function: { name: call.name, arguments: argumentsOf(call) } }));
  }
  const completion = {
    id: ids.completionId,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: ids.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(turn) }],
    usage: usageBody(),
  };
  sendJson(res, 200, completion, { 'x-request-id': `req_${ids.completionId}` });
}

/** Streams a turn as OpenAI does: text and each call's arguments in several pieces, usage in a chunk of its own. */
function streamTurn(res: ServerResponse, turn: Turn, ids: Ids, includeUsage: boolean): void {
  startEventStream(res, { 'x-request-id': `req_${ids.completionId}` });
  const base = { id: ids.completionId, object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: ids.model };
  const send = (data: object) => writeEvent(res, JSON.stringify({ ...base, ...data, ...(includeUsage && !('usage' in data) ? { usage: null } : {}) }));
  const delta = (d: object, finish: string | null = null) => send({ choices: [{ index: 0, delta: d, logprobs: null, finish_reason: finish }] });

  delta({ role: 'assistant', content: '', refusal: null });
  if (turn.text !== undefined) {
    const half = Math.ceil(turn.text.length / 2);
    delta({ content: turn.text.slice(0, half) });
    delta({ content: turn.text.slice(half) });
  }
  for (const [index, call] of (turn.tools ?? []).entries()) {
    delta({ tool_calls: [{ index, id: `${ids.callPrefix}_${index}`, type: 'function', function: { name: call.name, arguments: '' } }] });
    const json = argumentsOf(call);
    const half = Math.floor(json.length / 2);
    delta({ tool_calls: [{ index, function: { arguments: json.slice(0, half) } }] });
    delta({ tool_calls: [{ index, function: { arguments: json.slice(half) } }] });
  }
  delta({}, finishReason(turn));
  if (includeUsage) send({ choices: [], usage: usageBody() });
  writeEvent(res, '[DONE]');
  res.end();
}

function sendError(res: ServerResponse, status: number, type: string, code: string, message: string): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, { 'x-request-id': `req_fake_err_${status}` });
}

/** The first user message's text: tool results later on may echo anything, tags included. */
function firstUserText(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.messages)) return '';
  const first: unknown = body.messages.find((m) => isRecord(m) && m.role === 'user');
  return isRecord(first) ? textsOf(first.content).join('\n') : '';
}

function scenarioOf(body: unknown): string {
  return scenarioIn([firstUserText(body)]);
}

function markerOf(body: unknown): string {
  return /\[marker:([A-Za-z0-9_-]+)\]/.exec(firstUserText(body))?.[1] ?? 'slow';
}

function toolMessageCount(body: Record<string, unknown>): number {
  return Array.isArray(body.messages) ? body.messages.filter((m) => isRecord(m) && m.role === 'tool').length : 0;
}
