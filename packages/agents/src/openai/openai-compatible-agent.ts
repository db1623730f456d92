import { AppError, abortReason, type AgentRunInput, type AgentRunResult, type CodingAgent, type StepContext } from '@tinyb/core';
import type { Usage } from '@tinyb/contracts';
import { OpenAI } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { truncateText } from '../truncate-text.js';
import { modelRequestError } from './model-request-error.js';
import { requestModelTurn, type ModelToolCall } from './model-turn.js';
import { SANDBOX_TOOL_DEFINITIONS, runSandboxTool, type SandboxToolContext } from './sandbox-tools.js';
import { systemPrompt } from './system-prompt.js';
import { messageEvents, toolCallEvent, toolResultEvent } from './tool-call-events.js';

export interface OpenAiCompatibleAgentOptions {
  /** OPENAI_BASE_URL: the API root ending in `/v1` (OpenAI, OpenRouter, vLLM, llama.cpp, Ollama, a fake). */
  baseUrl?: string;
  /** OPENAI_API_KEY. Optional: local servers often want none, and then no Authorization header is sent. */
  apiKey?: string;
  /** OPENAI_MODEL: used when a job names no model. */
  model: string;
  /** Stream responses (default true). Turn off for servers whose streamed tool calls are broken. */
  stream?: boolean;
  /** Output tokens per response; unset leaves the server's default. */
  maxTokensPerResponse?: number;
  /**
   * The request field for `maxTokensPerResponse`: OpenAI's current `max_completion_tokens` (default; its
   * reasoning models refuse the old one) or `max_tokens` for servers that only know that.
   */
  maxTokensField?: 'max_completion_tokens' | 'max_tokens';
  /** One model request, waiting for its response headers. Default 300000. */
  requestTimeoutMs?: number;
  /** The client's retries of a request that failed with 408/409/429/5xx or a network error. Default 2. */
  maxRetries?: number;
  /** Per `run_command`. Default 120000; the run's own `timeoutMs` bounds it too. */
  commandTimeoutMs?: number;
  /** Prices per million tokens, to report a cost; without them only tokens are reported. */
  pricing?: { inputPerMTokUsd: number; outputPerMTokUsd: number };
  /** For tests or a proxying fetch. */
  fetch?: typeof globalThis.fetch;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * A built-in agent loop for any Chat Completions endpoint with tool calling. The loop runs in the worker;
 * only the tools touch the sandbox, through the `Sandbox` port, so it behaves the same in every sandbox
 * provider and needs nothing installed in it besides sh, find and grep.
 */
export class OpenAiCompatibleAgent implements CodingAgent {
  readonly name = 'openai';
  /** Nothing to bind into a local sandbox: the loop is in-process and the tools are the image's own. */
  readonly toolPaths: string[] = [];
  private readonly client: OpenAI;
  private readonly requestTimeoutMs: number;
  private readonly commandTimeoutMs: number;

  constructor(private readonly opts: OpenAiCompatibleAgentOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 300_000;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 120_000;
    // Every setting is given explicitly, so the SDK reads nothing from process.env (OPENAI_ORG_ID, …):
    // configuration comes from the composition root only.
    this.client = new OpenAI({
      apiKey: opts.apiKey ?? 'unused',
      baseURL: opts.baseUrl ?? DEFAULT_BASE_URL,
      organization: null,
      project: null,
      webhookSecret: null,
      timeout: this.requestTimeoutMs,
      maxRetries: opts.maxRetries ?? 2,
      // The SDK logs to the console; the worker's logger is the only log here.
      logLevel: 'off',
      ...(opts.apiKey === undefined ? { defaultHeaders: { authorization: null } } : {}),
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
    });
  }

  async run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult> {
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    // One signal for everything the run waits on: the job's (cancel, budget) or the run's own deadline.
    const run = new AbortController();
    const timeout = new AppError('agent_timeout', `the agent did not finish within ${input.timeoutMs} ms`);
    // setTimeout fires at once past 2^31-1 ms; clamp so a generous limit does not mean none.
    const timer = setTimeout(() => run.abort(timeout), Math.min(input.timeoutMs, 2_147_483_647));
    const forward = () => run.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', forward, { once: true });
    try {
      return await this.loop(input, ctx, run.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      if (run.signal.aborted) throw timeout;
      throw err;
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', forward);
    }
  }

  private async loop(input: AgentRunInput, ctx: StepContext, signal: AbortSignal): Promise<AgentRunResult> {
    const logger = ctx.logger.child({ agent: this.name });
    const model = input.model ?? this.opts.model;
    const home = `${input.scratchDir}/home`;
    const tmp = `${input.scratchDir}/tmp`;
    const mkdir = await input.sandbox.exec(['mkdir', '-p', home, tmp], { signal, timeoutMs: 30_000 });
    if (mkdir.exitCode !== 0) {
      throw new AppError('agent_failed', `could not create the agent's scratch directories: ${truncateText(mkdir.stderr.trim(), 1000)}`);
    }
    const tools: SandboxToolContext = {
      sandbox: input.sandbox,
      workdir: input.workdir,
      // Built from nothing but the run's own directories: no token or setting of the worker reaches a command.
      env: { HOME: home, TMPDIR: tmp, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', PAGER: 'cat' },
      commandTimeoutMs: this.commandTimeoutMs,
      signal,
    };
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: systemPrompt({ workdir: input.workdir, commandTimeoutMs: this.commandTimeoutMs }) },
      { role: 'user', content: input.prompt },
    ];
    const tokens = { inputTokens: 0, outputTokens: 0 };

    for (let turn = 1; turn <= input.maxTurns; turn++) {
      const response = await this.requestTurn(model, messages, signal, `call_${turn}`);
      if (response.usage) {
        tokens.inputTokens += response.usage.inputTokens;
        tokens.outputTokens += response.usage.outputTokens;
        // The meter aborts the job's signal when the budget is spent; the check below then stops the run.
        await input.usage.report(this.withCost(tokens));
      }
      if (signal.aborted) throw signal.reason;
      logger.debug({ turn, toolCalls: response.toolCalls.length, finishReason: response.finishReason }, 'model responded');
      for (const event of messageEvents(response.text)) await ctx.emit(event);

      if (response.toolCalls.length === 0) {
        logger.info({ turns: turn, ...tokens }, 'agent finished');
        return { summary: response.text.trim() };
      }
      messages.push({
        role: 'assistant',
        content: response.text === '' ? null : response.text,
        tool_calls: response.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: historyArguments(c) } })),
      });
      for (const call of response.toolCalls) {
        const args = parseArguments(call.arguments);
        await ctx.emit(toolCallEvent({ id: call.id, name: call.name, args }, input.workdir));
        const result = await runSandboxTool(call.name, args, tools);
        await ctx.emit(toolResultEvent(call, result));
        messages.push({ role: 'tool', tool_call_id: call.id, content: result.ok ? result.output : `Error: ${result.output}` });
      }
    }
    throw new AppError('agent_max_turns', `the agent stopped after reaching the limit of ${input.maxTurns} turns`);
  }

  private async requestTurn(model: string, messages: ChatCompletionMessageParam[], signal: AbortSignal, idPrefix: string) {
    const limit = this.opts.maxTokensPerResponse;
    const params = {
      model,
      messages,
      tools: SANDBOX_TOOL_DEFINITIONS,
      ...(limit === undefined ? {} : { [this.opts.maxTokensField ?? 'max_completion_tokens']: limit }),
    };
    try {
      // The race makes an abort immediate even while the client sleeps between retries.
      return await untilAborted(requestModelTurn(this.client, params, { stream: this.opts.stream ?? true, signal, idPrefix }), signal);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw modelRequestError(err, this.requestTimeoutMs);
    }
  }

  private withCost(tokens: { inputTokens: number; outputTokens: number }): Usage {
    const p = this.opts.pricing;
    if (!p) return { ...tokens };
    return { ...tokens, costUsd: (tokens.inputTokens * p.inputPerMTokUsd + tokens.outputTokens * p.outputPerMTokUsd) / 1_000_000 };
  }
}

/** The model's arguments as a value, or undefined when they are not JSON; no arguments at all mean `{}`. */
function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Several servers parse the arguments of earlier calls when they render the history, and fail on bad JSON. */
function historyArguments(call: ModelToolCall): string {
  return parseArguments(call.arguments) === undefined ? '{}' : call.arguments;
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
