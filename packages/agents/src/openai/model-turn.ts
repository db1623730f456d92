import type { OpenAI } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';

type TurnParams = Omit<ChatCompletionCreateParamsNonStreaming, 'stream' | 'stream_options'>;

export interface ModelToolCall {
  id: string;
  name: string;
  /** The raw JSON text, as the model wrote it (it may be invalid or cut off). */
  arguments: string;
}

/** One assistant response, the same whether it was streamed or not. */
export interface ModelTurn {
  text: string;
  toolCalls: ModelToolCall[];
  finishReason: string | null;
  /** Absent when the server does not report usage (some local servers). */
  usage?: { inputTokens: number; outputTokens: number };
}

/**
 * Asks the model for its next response. Streaming keeps a slow response alive through proxies' idle timeouts
 * and is what most local servers implement best; the non-streaming path is for servers whose streaming of
 * tool calls is broken. `idPrefix` names tool calls for servers that send none.
 */
export async function requestModelTurn(
  client: OpenAI,
  params: TurnParams,
  opts: { stream: boolean; signal: AbortSignal; idPrefix: string },
): Promise<ModelTurn> {
  if (!opts.stream) {
    const body: ChatCompletionCreateParamsNonStreaming = { ...params, stream: false };
    return turnFromCompletion(await client.chat.completions.create(body, { signal: opts.signal }), opts.idPrefix);
  }
  const body: ChatCompletionCreateParamsStreaming = { ...params, stream: true, stream_options: { include_usage: true } };
  const stream = await client.chat.completions.create(body, { signal: opts.signal });
  const turn = new ChunkAccumulator(opts.idPrefix);
  for await (const chunk of stream) turn.add(chunk);
  return turn.result();
}

export function turnFromCompletion(completion: ChatCompletion, idPrefix: string): ModelTurn {
  const choice = completion.choices?.[0];
  const message = choice?.message;
  const toolCalls: ModelToolCall[] = [];
  // The SDK does not validate bodies, and compatible servers take liberties: read defensively.
  const calls = Array.isArray(message?.tool_calls) ? message.tool_calls : [];
  for (const [i, call] of calls.entries()) {
    if (call.type !== 'function' || !call.function) continue;
    toolCalls.push({ id: call.id || `${idPrefix}_${i}`, name: call.function.name ?? '', arguments: argumentsText(call.function.arguments) });
  }
  return {
    text: typeof message?.content === 'string' ? message.content : '',
    toolCalls,
    finishReason: choice?.finish_reason ?? null,
    ...usageOf(completion.usage),
  };
}

/**
 * Folds streamed chunks into one turn. Tool calls arrive as deltas keyed by `index`: the first carries the
 * id and name, later ones pieces of the arguments. Servers differ in the details (a name repeated in every
 * delta, arguments in one piece, no index, usage in the last choice chunk or in a chunk of its own), so
 * the name is set rather than appended and a missing index continues the last call.
 */
export class ChunkAccumulator {
  private text = '';
  private readonly calls: { id?: string; name: string; arguments: string }[] = [];
  private finishReason: string | null = null;
  private usage: ChatCompletionChunk['usage'];

  constructor(private readonly idPrefix: string) {}

  add(chunk: ChatCompletionChunk): void {
    if (chunk.usage) this.usage = chunk.usage;
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
      const delta = choice.delta;
      if (!delta) continue;
      if (typeof delta.content === 'string') this.text += delta.content;
      for (const d of delta.tool_calls ?? []) {
        const at = typeof d.index === 'number' ? d.index : d.id !== undefined ? this.calls.length : Math.max(0, this.calls.length - 1);
        const call = (this.calls[at] ??= { name: '', arguments: '' });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.name = d.function.name;
        if (d.function?.arguments !== undefined && d.function.arguments !== null) call.arguments += argumentsText(d.function.arguments);
      }
    }
  }

  result(): ModelTurn {
    const toolCalls = this.calls.flatMap((c, i) => (c === undefined ? [] : [{ id: c.id ?? `${this.idPrefix}_${i}`, name: c.name, arguments: c.arguments }]));
    return { text: this.text, toolCalls, finishReason: this.finishReason, ...usageOf(this.usage) };
  }
}

/** Arguments should be a JSON string; a few servers send the object itself. */
function argumentsText(args: unknown): string {
  return typeof args === 'string' ? args : JSON.stringify(args ?? {});
}

function usageOf(usage: ChatCompletion['usage'] | null | undefined): Pick<ModelTurn, 'usage'> {
  if (!usage) return {};
  return { usage: { inputTokens: usage.prompt_tokens ?? 0, outputTokens: usage.completion_tokens ?? 0 } };
}
