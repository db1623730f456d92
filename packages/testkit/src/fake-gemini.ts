import { SANDBOX_PROBE_SHELL_LINE } from './sandbox-probe.js';
import type { ServerResponse } from 'node:http';
import { FAKE_FILES, FAKE_FINAL_TEXT, FAKE_USAGE_PER_CALL } from './fake-anthropic.js';
import { isRecord, scenarioIn, sendJson, startEventStream, startFakeModelServer, turnAfter, writeEvent, type FakeModelApi, type ModelScenario, type RecordedModelRequest } from './fake-model-server.js';

/**
 * A scripted Gemini API (generativelanguage v1beta) for running the real Gemini CLI offline.
 *
 * It plays the same scenarios as the fake Anthropic API, with the same tags, files and final texts, so that a
 * pipeline test reads the same whichever agent it runs: `[scenario:write|edit|multi|env-probe|noop|slow|loop|
 * http500|http401|http429]` anywhere in a user text part (default `write`).
 *
 * Stateless on purpose: the CLI resends the whole conversation on every call, so the next turn is chosen from
 * the number of `functionResponse` parts already in `contents`. Tool calls name files by absolute path, built
 * from the workspace directory the CLI names in its first (context) message, so that tests see the adapter make
 * them repo-relative.
 */

interface ToolCall {
  name: string;
  args: Record<string, unknown>;
}

/** One model turn: optional text, then either a function call or nothing (the turn ends the run). */
interface Turn {
  text?: string;
  tool?: ToolCall;
}

/** Scripts take the working directory, for absolute paths. */
type Scenario = ModelScenario<Turn, string, { grpcStatus: string }>;

const abs = (cwd: string, file: string) => `${cwd.replace(/\/+$/, '')}/${file}`;

const replaceReadmeLine = (cwd: string): Turn => ({
  tool: {
    name: 'replace',
    args: {
      file_path: abs(cwd, FAKE_FILES.readmePath),
      old_string: FAKE_FILES.readmeOldLine,
      new_string: FAKE_FILES.readmeNewLine,
      instruction: 'Mark the README as edited.',
    },
  },
});

/** Every scenario, in one table. Tool names and arguments are the Gemini CLI's own. */
const SCENARIOS: Record<string, Scenario> = {
  write: {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'I will create the file.',
        tool: { name: 'write_file', args: { file_path: abs(cwd, FAKE_FILES.helloPath), content: FAKE_FILES.helloContent } },
      },
      { text: FAKE_FINAL_TEXT.write },
    ],
  },
  edit: {
    kind: 'script',
    turns: (cwd) => [
      { text: 'Let me read the README first.', tool: { name: 'read_file', args: { file_path: abs(cwd, FAKE_FILES.readmePath) } } },
      replaceReadmeLine(cwd),
      { text: FAKE_FINAL_TEXT.edit },
    ],
  },
  multi: {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'Three changes coming.',
        tool: { name: 'write_file', args: { file_path: abs(cwd, FAKE_FILES.notesPath), content: FAKE_FILES.notesContent } },
      },
      { tool: { name: 'read_file', args: { file_path: abs(cwd, FAKE_FILES.readmePath) } } },
      replaceReadmeLine(cwd),
      { tool: { name: 'run_shell_command', args: { command: `rm ${FAKE_FILES.obsoletePath}`, description: 'Remove obsolete file' } } },
      { text: FAKE_FINAL_TEXT.multi },
    ],
  },
  'env-probe': {
    kind: 'script',
    turns: () => [
      {
        text: 'Let me look at the environment.',
        tool: { name: 'run_shell_command', args: { command: SANDBOX_PROBE_SHELL_LINE, description: 'Probe environment' } },
      },
      { text: 'Done probing.' },
    ],
  },
  noop: { kind: 'script', turns: () => [{ text: FAKE_FINAL_TEXT.noop }] },
  slow: {
    kind: 'script',
    turns: () => [
      { text: 'This will take a while.', tool: { name: 'run_shell_command', args: { command: 'sleep 60', description: 'Wait' } } },
      { text: 'Finished waiting.' },
    ],
  },
  loop: {
    kind: 'forever',
    turn: (_cwd, n) => ({
      text: `Looping, round ${n}.`,
      tool: { name: 'run_shell_command', args: { command: `echo round-${n}`, description: 'Loop' } },
    }),
  },
  http500: { kind: 'error', status: 500, grpcStatus: 'INTERNAL' },
  http401: { kind: 'error', status: 401, grpcStatus: 'UNAUTHENTICATED' },
  http429: { kind: 'error', status: 429, grpcStatus: 'RESOURCE_EXHAUSTED' },
};

export type FakeGeminiScenario = keyof typeof SCENARIOS;

/** Every request (unknown routes included, so a test can see stray calls); `url` as sent (`/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`). */
export interface RecordedGeminiRequest extends RecordedModelRequest {
  /** `streamGenerateContent`, `generateContent`, `countTokens`, or '' for anything else. */
  action: string;
  model: string;
}

/** `url` is for GOOGLE_GEMINI_BASE_URL. */
export type FakeGemini = FakeModelApi<RecordedGeminiRequest>;

const MODEL_ROUTE = /^\/v1beta\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/;

export async function startFakeGemini(opts: { apiKey?: string } = {}): Promise<FakeGemini> {
  const apiKey = opts.apiKey ?? 'fake-gemini-test-key';
  const requests: RecordedGeminiRequest[] = [];

  const server = await startFakeModelServer('fake-gemini', ({ method, url, path, headers, rawBody, body }, res) => {
    const route = MODEL_ROUTE.exec(path);
    const scenarioName = scenarioOf(body);
    const action = route?.[2] ?? '';
    const model = route?.[1] ?? '';
    requests.push({ method, url, action, model, headers, rawBody, body, scenario: scenarioName });

    if (method !== 'POST' || !route) {
      sendError(res, 404, 'NOT_FOUND', `no route for ${method} ${url}`);
      return;
    }
    if (headers['x-goog-api-key'] !== apiKey) {
      sendError(res, 401, 'UNAUTHENTICATED', 'invalid x-goog-api-key');
      return;
    }
    if (action === 'countTokens') {
      sendJson(res, 200, { totalTokens: FAKE_USAGE_PER_CALL.inputTokens });
      return;
    }
    const scenario = SCENARIOS[scenarioName];
    if (!scenario) {
      sendError(res, 400, 'INVALID_ARGUMENT', `unknown scenario ${scenarioName}`);
      return;
    }
    if (scenario.kind === 'error') {
      sendError(res, scenario.status, scenario.grpcStatus, `fake ${scenario.status}`);
      return;
    }
    if (action === 'generateContent') {
      // Side calls (routing, next-speaker checks, edit correction, summaries) never get tool calls.
      sendJson(res, 200, sideAnswer(body));
      return;
    }
    const turn = turnAfter(scenario, workingDirOf(body) ?? '/', functionResponseCount(body), (t) => (t.tool ? 1 : 0)) ?? { text: 'Done.' };
    streamTurn(res, turn);
  });

  return { url: server.origin, apiKey, requests, sandboxForward: server.sandboxForward, close: server.close };
}

const usageMetadata = {
  promptTokenCount: FAKE_USAGE_PER_CALL.inputTokens,
  candidatesTokenCount: FAKE_USAGE_PER_CALL.outputTokens,
  totalTokenCount: FAKE_USAGE_PER_CALL.inputTokens + FAKE_USAGE_PER_CALL.outputTokens,
};

/**
 * One turn as server-sent events: the text in two chunks (the CLI prints each as a delta, so the adapter's
 * coalescing is exercised), then a last chunk with the function call (if any), the finish reason and usage.
 */
function streamTurn(res: ServerResponse, turn: Turn): void {
  startEventStream(res);
  const send = (parts: unknown[], last: boolean) =>
    writeEvent(
      res,
      JSON.stringify({
        candidates: [{ content: { role: 'model', parts }, index: 0, ...(last ? { finishReason: 'STOP' } : {}) }],
        ...(last ? { usageMetadata } : {}),
        modelVersion: 'fake-gemini',
      }),
    );
  const text = turn.text ?? '';
  const half = Math.ceil(text.length / 2);
  if (turn.tool) {
    if (text !== '') {
      send([{ text: text.slice(0, half) }], false);
      send([{ text: text.slice(half) }], false);
    }
    send([{ functionCall: { name: turn.tool.name, args: turn.tool.args } }], true);
  } else {
    send([{ text: text.slice(0, half) }], false);
    send([{ text: text.slice(half) }], true);
  }
  res.end();
}

/**
 * A `generateContent` answer. JSON-mode requests (the model router, next-speaker check, edit corrector…)
 * get one object carrying every key those callers read, so any of them parses it.
 */
function sideAnswer(body: unknown): unknown {
  const config = isRecord(body) && isRecord(body.generationConfig) ? body.generationConfig : {};
  const text =
    config.responseMimeType === 'application/json'
      ? JSON.stringify({
          reasoning: 'The fake model has nothing more to say.',
          next_speaker: 'user',
          complexity_reasoning: 'A simple task.',
          complexity_score: 1,
          model_choice: 'flash',
          corrected_target_snippet: '',
          corrected_new_string: '',
          corrected_new_string_escaping: '',
          summary: 'Fake summary.',
        })
      : 'Fake answer.';
  return {
    candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
    usageMetadata,
    modelVersion: 'fake-gemini',
  };
}

function sendError(res: ServerResponse, status: number, grpcStatus: string, message: string): void {
  sendJson(res, status, { error: { code: status, message, status: grpcStatus } });
}

function contentsOf(body: unknown): Record<string, unknown>[] {
  if (!isRecord(body) || !Array.isArray(body.contents)) return [];
  return body.contents.filter(isRecord);
}

function partsOf(content: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(content.parts) ? content.parts.filter(isRecord) : [];
}

/**
 * The tag from the user's own text. Tool output comes back as `functionResponse` parts, never as text, so a
 * probe that prints a tag cannot switch scenarios; the CLI's context message (date, directory listing) comes
 * before the prompt, hence all user text parts are searched.
 */
function scenarioOf(body: unknown): string {
  const userTexts = contentsOf(body)
    .filter((content) => content.role === 'user')
    .flatMap((content) => partsOf(content).flatMap((part) => (typeof part.text === 'string' ? [part.text] : [])));
  return scenarioIn(userTexts);
}

/**
 * The CLI lists its workspace in the context message it sends first:
 * `- **Workspace Directories:**\n  - /abs/repo`. The first one is the checkout the run started in.
 */
function workingDirOf(body: unknown): string | undefined {
  for (const content of contentsOf(body)) {
    for (const part of partsOf(content)) {
      if (typeof part.text !== 'string') continue;
      const m = /Workspace Directories:\**\s*\n\s*-\s+(\/\S+)/.exec(part.text);
      if (m?.[1]) return m[1];
    }
  }
  return undefined;
}

function functionResponseCount(body: unknown): number {
  let n = 0;
  for (const content of contentsOf(body)) for (const part of partsOf(content)) if (isRecord(part.functionResponse)) n++;
  return n;
}
