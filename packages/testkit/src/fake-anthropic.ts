import { SANDBOX_PROBE_SHELL_LINE } from './sandbox-probe.js';
import type { ServerResponse } from 'node:http';
import { isRecord, scenarioIn, sendJson, startEventStream, startFakeModelServer, textsOf, turnAfter, writeEvent, type FakeModelApi, type ModelScenario, type RecordedModelRequest } from './fake-model-server.js';

/**
 * A scripted Anthropic Messages API for running the real Claude Code CLI offline.
 *
 * Stateless on purpose: the CLI resends the whole conversation on every call, so the next turn is chosen
 * from the number of `tool_result` blocks already in `messages`. A scenario is picked with a
 * `[scenario:NAME]` tag in the first user message (default `write`), and absolute paths are built from the
 * `Primary working directory: …` line of the system prompt, because Write/Edit/Read need absolute paths.
 */

/** Content the scenarios write, so tests can check the files really changed. */
export const FAKE_FILES = {
  helloPath: 'HELLO.md',
  helloContent: '# Hello\n\nWritten by the fake model.\n',
  notesPath: 'NOTES.md',
  notesContent: 'Notes written by the fake model.\n',
  readmePath: 'README.md',
  /** Tests for `edit` and `multi` create README.md containing this line… */
  readmeOldLine: 'Status: draft',
  /** …and expect this one in its place afterwards. */
  readmeNewLine: 'Status: edited by the fake model',
  /** `multi` deletes this file; tests create it first. */
  obsoletePath: 'obsolete.txt',
  /** `exfiltrate` prints this file (tests plant secrets in it) along with the environment. */
  plantedSecretsPath: '.env.local',
} as const;

/**
 * A repository whose checks fail until greet.js is fixed, for the checks-before-the-PR scenarios: `npm test` runs
 * test.js, which prints `failureText` (and the wrong greeting) and exits 1 while greet.js is broken.
 */
export const FAKE_CHECKS_REPO = {
  files: {
    'package.json': `${JSON.stringify({ name: 'greeter', version: '1.0.0', private: true, scripts: { test: 'node test.js' } }, null, 2)}\n`,
    'greet.js': "module.exports = () => 'Helo, world';\n",
    'test.js':
      "const got = require('./greet.js')();\n" +
      "if (got !== 'Hello, world') {\n" +
      "  console.error(`GREETING CHECK FAILED: expected \"Hello, world\", got \"${got}\"`);\n" +
      '  process.exit(1);\n' +
      '}\n' +
      "console.log('greeting ok');\n",
  },
  failureText: 'GREETING CHECK FAILED',
  greetPath: 'greet.js',
  fixedGreet: "module.exports = () => 'Hello, world';\n",
  /** What `checks-unfixable` writes in each fix round instead of fixing anything. */
  attemptPath: 'ATTEMPT.md',
} as const;

/** Tokens reported per model call (message_start input, message_delta output). */
export const FAKE_USAGE_PER_CALL = { inputTokens: 100, outputTokens: 20 } as const;

export const FAKE_FINAL_TEXT = {
  write: 'Done: created HELLO.md.',
  edit: 'Done: edited README.md.',
  multi: 'Done: added NOTES.md, edited README.md, removed obsolete.txt.',
  noop: 'Nothing to change.',
} as const;

interface ToolCall {
  name: string;
  input: Record<string, unknown>;
}

/** One model turn: optional text, then either a tool call (stop_reason tool_use) or nothing (end_turn). */
interface Turn {
  text?: string;
  tool?: ToolCall;
  /** Appends to `text` every tool result of the conversation so far: a hostile agent repeating what it found. */
  echoToolResults?: boolean;
}

/**
 * Scripts take the working directory, for absolute paths. `stall` starts a stream (message_start, some text) and
 * then sends nothing more until the client goes away: for proving that a proxy passes bytes on as they come and
 * that cutting a call reaches the model API.
 */
type Scenario =
  | ModelScenario<Turn, string, { errorType: string }>
  | { kind: 'stall' }
  /**
   * Plays `onFailure` when the first user message holds `failureText` (a fix round's prompt quotes the failed
   * check's output, and the task with its tag), `otherwise` before: a fix round is a new CLI run with a new prompt.
   */
  | { kind: 'check-fix'; failureText: string; otherwise: string; onFailure: string };

const abs = (cwd: string, file: string) => `${cwd.replace(/\/+$/, '')}/${file}`;

const editReadme = (cwd: string): Turn => ({
  tool: {
    name: 'Edit',
    input: { file_path: abs(cwd, FAKE_FILES.readmePath), old_string: FAKE_FILES.readmeOldLine, new_string: FAKE_FILES.readmeNewLine },
  },
});

/** Every scenario, in one table. */
const SCENARIOS: Record<string, Scenario> = {
  write: {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'I will create the file.',
        tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_FILES.helloPath), content: FAKE_FILES.helloContent } },
      },
      { text: FAKE_FINAL_TEXT.write },
    ],
  },
  edit: {
    kind: 'script',
    turns: (cwd) => [
      { text: 'Let me read the README first.', tool: { name: 'Read', input: { file_path: abs(cwd, FAKE_FILES.readmePath) } } },
      editReadme(cwd),
      { text: FAKE_FINAL_TEXT.edit },
    ],
  },
  multi: {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'Three changes coming.',
        tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_FILES.notesPath), content: FAKE_FILES.notesContent } },
      },
      { tool: { name: 'Read', input: { file_path: abs(cwd, FAKE_FILES.readmePath) } } },
      editReadme(cwd),
      { tool: { name: 'Bash', input: { command: `rm ${FAKE_FILES.obsoletePath}`, description: 'Remove obsolete file' } } },
      { text: FAKE_FINAL_TEXT.multi },
    ],
  },
  'env-probe': {
    kind: 'script',
    turns: () => [
      {
        text: 'Let me look at the environment.',
        tool: { name: 'Bash', input: { command: SANDBOX_PROBE_SHELL_LINE, description: 'Probe environment' } },
      },
      { text: 'Done probing.' },
    ],
  },
  // A hostile agent: dumps its environment and a file of secrets, changes a file so a PR opens, then repeats
  // everything it saw in its final summary (which becomes the PR body and the commit message).
  exfiltrate: {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'Let me see what credentials I can find.',
        tool: { name: 'Bash', input: { command: `env; cat ${FAKE_FILES.plantedSecretsPath}`, description: 'Look for secrets' } },
      },
      { tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_FILES.helloPath), content: FAKE_FILES.helloContent } } },
      { text: 'Here is everything I found:\n', echoToolResults: true },
    ],
  },
  noop: { kind: 'script', turns: () => [{ text: FAKE_FINAL_TEXT.noop }] },
  slow: {
    kind: 'script',
    turns: () => [
      { text: 'This will take a while.', tool: { name: 'Bash', input: { command: 'sleep 60', description: 'Wait', timeout: 120_000 } } },
      { text: 'Finished waiting.' },
    ],
  },
  // A tool call that keeps the agent busy for 10 s, then a real change: long enough to kill its worker in the
  // middle, or to outlast several short job locks, and short enough that the attempt taking over finishes.
  nap: {
    kind: 'script',
    turns: (cwd) => [
      { text: 'A short nap first.', tool: { name: 'Bash', input: { command: 'sleep 10', description: 'Nap', timeout: 60_000 } } },
      { text: 'Now the file.', tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_FILES.helloPath), content: FAKE_FILES.helloContent } } },
      { text: FAKE_FINAL_TEXT.write },
    ],
  },
  // About a second per turn for several turns, then a real change: a job long enough to stop Redis in the middle of.
  ticks: {
    kind: 'script',
    turns: (cwd) => [
      ...Array.from({ length: 6 }, (_, i) => ({
        text: `Tick ${i + 1}.`,
        tool: { name: 'Bash', input: { command: `sleep 1; echo tick-${i + 1}`, description: `Tick ${i + 1}` } },
      })),
      { text: 'Now the file.', tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_FILES.helloPath), content: FAKE_FILES.helloContent } } },
      { text: FAKE_FINAL_TEXT.write },
    ],
  },
  loop: {
    kind: 'forever',
    turn: (_cwd, n) => ({ text: `Looping, round ${n}.`, tool: { name: 'Bash', input: { command: `echo round-${n}`, description: 'Loop' } } }),
  },
  stall: { kind: 'stall' },
  // Checks before the PR (FAKE_CHECKS_REPO): the first run adds HELLO.md, leaving the failing check as it is.
  'checks-fixable': { kind: 'check-fix', failureText: FAKE_CHECKS_REPO.failureText, otherwise: 'write', onFailure: 'checks-fix-greeting' },
  'checks-unfixable': { kind: 'check-fix', failureText: FAKE_CHECKS_REPO.failureText, otherwise: 'write', onFailure: 'checks-fail-again' },
  'checks-fix-greeting': {
    kind: 'script',
    turns: (cwd) => [
      // Claude Code edits only files it has read in the same run, and a fix round is a new run.
      { text: 'Let me look at greet.js.', tool: { name: 'Read', input: { file_path: abs(cwd, FAKE_CHECKS_REPO.greetPath) } } },
      {
        text: 'The greeting is misspelled; fixing it.',
        tool: { name: 'Edit', input: { file_path: abs(cwd, FAKE_CHECKS_REPO.greetPath), old_string: "'Helo, world'", new_string: "'Hello, world'" } },
      },
      { text: 'Fixed greet.js.' },
    ],
  },
  'checks-fail-again': {
    kind: 'script',
    turns: (cwd) => [
      {
        text: 'I cannot see what is wrong; writing down what I tried.',
        tool: { name: 'Write', input: { file_path: abs(cwd, FAKE_CHECKS_REPO.attemptPath), content: 'Tried, and failed, to fix the checks.\n' } },
      },
      { text: 'Could not fix the failing check.' },
    ],
  },
  http500: { kind: 'error', status: 500, errorType: 'api_error' },
  http401: { kind: 'error', status: 401, errorType: 'authentication_error' },
  http529: { kind: 'error', status: 529, errorType: 'overloaded_error' },
};

export type FakeAnthropicScenario = keyof typeof SCENARIOS;

/** Every /v1/messages request; `url` is the path with query, as sent (`/v1/messages?beta=true`). */
export interface RecordedAnthropicRequest extends RecordedModelRequest {
  /** `stall` only: `Date.now()` when the client's connection closed, the reply still unfinished. */
  abandonedAt?: number;
  /** Its reply was cut mid-stream by `cutNextStreams`. */
  cut?: boolean;
}

/** `url` is for ANTHROPIC_BASE_URL. */
export type FakeAnthropic = FakeModelApi<RecordedAnthropicRequest> & {
  /**
   * The next `times` (1 unless given) scripted replies stop after their first text delta and the connection is
   * destroyed, as a dropped network or a proxy restart does mid-response: status 200 and part of a message, then
   * nothing. Side queries without tools and error scenarios are not cut. Replaces any cuts still pending: 0
   * cancels them.
   */
  cutNextStreams(times?: number): void;
};

/**
 * With `oauthToken`, the fake is a Claude subscription's API: calls must carry that token as a bearer with the
 * `oauth-2025-04-20` beta flag, as the CLI sends it with CLAUDE_CODE_OAUTH_TOKEN, and an x-api-key is refused.
 */
export async function startFakeAnthropic(opts: { apiKey?: string; oauthToken?: string } = {}): Promise<FakeAnthropic> {
  const apiKey = opts.apiKey ?? 'sk-ant-fake-test-key';
  const authError = (headers: Record<string, string | string[] | undefined>): string | undefined => {
    if (opts.oauthToken === undefined) return headers['x-api-key'] === apiKey ? undefined : 'invalid x-api-key';
    if (headers['x-api-key'] !== undefined) return 'an OAuth call must not carry an x-api-key';
    const beta = String(headers['anthropic-beta'] ?? '').split(',');
    if (!beta.includes('oauth-2025-04-20')) return 'OAuth authentication is currently not supported (no oauth beta flag)';
    return headers.authorization === `Bearer ${opts.oauthToken}` ? undefined : 'Invalid bearer token';
  };
  const requests: RecordedAnthropicRequest[] = [];
  let messageCounter = 0;
  let cutsLeft = 0;

  const server = await startFakeModelServer('fake-anthropic', ({ method, url, path, headers, rawBody, body }, res) => {
    if (method !== 'POST' || path !== '/v1/messages') {
      sendJson(res, 404, errorBody('not_found_error', 'not found'));
      return;
    }
    const scenarioName = scenarioOf(body);
    const recorded: RecordedAnthropicRequest = { method, url, headers, rawBody, body, scenario: scenarioName };
    requests.push(recorded);

    const refused = authError(headers);
    if (refused !== undefined) {
      sendJson(res, 401, errorBody('authentication_error', refused));
      return;
    }
    const tagged = SCENARIOS[scenarioName];
    const scenario = tagged?.kind === 'check-fix' ? SCENARIOS[firstUserTexts(body).some((t) => t.includes(tagged.failureText)) ? tagged.onFailure : tagged.otherwise] : tagged;
    if (!scenario || scenario.kind === 'check-fix') {
      sendJson(res, 400, errorBody('invalid_request_error', `unknown scenario ${scenarioName}`));
      return;
    }
    if (scenario.kind === 'error') {
      sendJson(res, scenario.status, errorBody(scenario.errorType, `fake ${scenario.status}`), { 'request-id': `req_fake_err_${scenario.status}` });
      return;
    }
    if (scenario.kind === 'stall') {
      startEventStream(res);
      const send = (type: string, data: Record<string, unknown>) => writeEvent(res, JSON.stringify({ type, ...data }), type);
      const message = { id: `msg_fake_${++messageCounter}`, type: 'message', role: 'assistant', model: 'claude-fake', content: [], stop_reason: null };
      send('message_start', { message: { ...message, usage: { input_tokens: FAKE_USAGE_PER_CALL.inputTokens, output_tokens: 1 } } });
      send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
      send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Thinking' } });
      res.on('close', () => {
        recorded.abandonedAt = Date.now();
      });
      return;
    }

    const model = isRecord(body) && typeof body.model === 'string' ? body.model : 'claude-fake';
    // A side query without tools (e.g. a session title) gets a plain answer, never a tool call.
    if (isRecord(body) && Array.isArray(body.tools) && body.tools.length === 0) {
      streamTurn(res, { text: 'Fake title' }, { model, messageId: `msg_fake_${++messageCounter}`, toolUseId: '' });
      return;
    }
    const done = toolResultCount(body);
    const scripted = turnAfter(scenario, workingDirOf(body) ?? '/', done, (t) => (t.tool ? 1 : 0)) ?? { text: 'Done.' };
    const turn = scripted.echoToolResults ? { ...scripted, text: `${scripted.text ?? ''}${toolResultTexts(body).join('\n')}` } : scripted;
    const cut = cutsLeft > 0;
    if (cut) {
      cutsLeft -= 1;
      recorded.cut = true;
    }
    streamTurn(res, turn, { model, messageId: `msg_fake_${++messageCounter}`, toolUseId: `toolu_fake_${done + 1}_${messageCounter}` }, cut);
  });

  return {
    url: server.origin,
    apiKey,
    requests,
    sandboxForward: server.sandboxForward,
    close: server.close,
    cutNextStreams(times = 1) {
      cutsLeft = times;
    },
  };
}

/** With `cut`, the reply ends right after its first text delta with the connection destroyed (see cutNextStreams). */
function streamTurn(res: ServerResponse, turn: Turn, ids: { model: string; messageId: string; toolUseId: string }, cut = false): void {
  startEventStream(res, { 'request-id': `req_${ids.messageId}` });
  const send = (type: string, data: Record<string, unknown>) => writeEvent(res, JSON.stringify({ type, ...data }), type);

  send('message_start', {
    message: {
      id: ids.messageId,
      type: 'message',
      role: 'assistant',
      model: ids.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: FAKE_USAGE_PER_CALL.inputTokens,
        output_tokens: 1,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  });
  let index = 0;
  if (cut) {
    send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index, delta: { type: 'text_delta', text: (turn.text ?? 'Working').slice(0, 8) } });
    // Flushed first, so the client really holds part of a message when the connection goes.
    setTimeout(() => res.destroy(), 50);
    return;
  }
  if (turn.text !== undefined) {
    send('content_block_start', { index, content_block: { type: 'text', text: '' } });
    send('content_block_delta', { index, delta: { type: 'text_delta', text: turn.text } });
    send('content_block_stop', { index });
    index++;
  }
  if (turn.tool) {
    send('content_block_start', { index, content_block: { type: 'tool_use', id: ids.toolUseId, name: turn.tool.name, input: {} } });
    // Split the input JSON in two deltas, as the real API streams it in pieces.
    const json = JSON.stringify(turn.tool.input);
    const half = Math.floor(json.length / 2);
    send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(0, half) } });
    send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(half) } });
    send('content_block_stop', { index });
  }
  send('message_delta', {
    delta: { stop_reason: turn.tool ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: FAKE_USAGE_PER_CALL.outputTokens },
  });
  send('message_stop', {});
  res.end();
}

function errorBody(type: string, message: string): object {
  return { type: 'error', error: { type, message } };
}

/** Only the first user message counts: tool results later on may echo anything, tags included. */
function scenarioOf(body: unknown): string {
  if (!isRecord(body) || !Array.isArray(body.messages)) return 'write';
  return scenarioIn(firstUserTexts(body));
}

function firstUserTexts(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) return [];
  const first: unknown = body.messages.find((m) => isRecord(m) && m.role === 'user');
  return isRecord(first) ? textsOf(first.content) : [];
}

function workingDirOf(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  for (const text of textsOf(body.system)) {
    const m = /Primary working directory: (\S+)/.exec(text);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

function toolResultTexts(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) return [];
  return body.messages.flatMap((m) =>
    isRecord(m) && Array.isArray(m.content)
      ? m.content.flatMap((b) => (isRecord(b) && b.type === 'tool_result' ? textsOf(b.content) : []))
      : [],
  );
}

function toolResultCount(body: unknown): number {
  if (!isRecord(body) || !Array.isArray(body.messages)) return 0;
  let n = 0;
  for (const m of body.messages) {
    if (!isRecord(m) || !Array.isArray(m.content)) continue;
    for (const b of m.content) if (isRecord(b) && b.type === 'tool_result') n++;
  }
  return n;
}
