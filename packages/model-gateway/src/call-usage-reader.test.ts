import { CallUsageReader } from './call-usage-reader.js';
import { PROVIDER_PROFILES } from './provider-profiles.js';

/** Feeds `text` in pieces of `size` bytes, as a network would cut it (through multi-byte characters too). */
function read(provider: keyof typeof PROVIDER_PROFILES, contentType: string, text: string, size = 7, maxJsonBytes = 1 << 20) {
  const reader = new CallUsageReader({ contentType, usageIn: PROVIDER_PROFILES[provider].usageIn, maxJsonBytes });
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += size) reader.write(bytes.subarray(i, i + size));
  return { counts: reader.finish(), overflowed: reader.overflowed };
}

const sse = (...events: object[]) => events.map((e) => `event: x\ndata: ${JSON.stringify(e)}\n\n`).join('');

describe('CallUsageReader', () => {
  it('Anthropic stream: input (cache reads and writes included) from message_start, output as message_delta corrects it', () => {
    const stream = sse(
      { type: 'message_start', message: { usage: { input_tokens: 10, cache_creation_input_tokens: 5, cache_read_input_tokens: 1000, output_tokens: 1 } } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'héllo ✓ wörld' } },
      { type: 'message_delta', usage: { output_tokens: 42 } },
      { type: 'message_stop' },
    );
    for (const size of [1, 3, 7, 4096]) expect(read('anthropic', 'text/event-stream; charset=utf-8', stream, size).counts).toEqual({ inputTokens: 1015, outputTokens: 42 });
  });

  it('Anthropic JSON body: its usage; count_tokens answers are not calls', () => {
    const message = { type: 'message', content: [], usage: { input_tokens: 7, output_tokens: 3, cache_read_input_tokens: 2 } };
    expect(read('anthropic', 'application/json', JSON.stringify(message)).counts).toEqual({ inputTokens: 9, outputTokens: 3 });
    expect(read('anthropic', 'application/json', JSON.stringify({ input_tokens: 500 })).counts).toBeNull();
  });

  it('a stream cut before its usage came counts what it saw, and one that showed none counts nothing', () => {
    const started = sse({ type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } });
    expect(read('anthropic', 'text/event-stream', started.slice(0, -1)).counts).toEqual({ inputTokens: 10, outputTokens: 1 });
    expect(read('anthropic', 'text/event-stream', sse({ type: 'ping' })).counts).toBeNull();
  });

  it('Gemini: the last running count of a stream, thoughts as output; a JSON array stream; countTokens is not a call', () => {
    const chunk = (prompt: number, candidates: number, thoughts?: number) => ({
      candidates: [],
      usageMetadata: { promptTokenCount: prompt, candidatesTokenCount: candidates, cachedContentTokenCount: 50, ...(thoughts === undefined ? {} : { thoughtsTokenCount: thoughts }) },
    });
    expect(read('gemini', 'text/event-stream', sse(chunk(100, 2), chunk(100, 9, 30))).counts).toEqual({ inputTokens: 100, outputTokens: 39 });
    expect(read('gemini', 'application/json; charset=UTF-8', JSON.stringify([chunk(80, 1), chunk(80, 12)])).counts).toEqual({ inputTokens: 80, outputTokens: 12 });
    expect(read('gemini', 'application/json', JSON.stringify({ totalTokens: 12 })).counts).toBeNull();
  });

  it('OpenAI: usage from the whole completion or from the last chunk of a stream; [DONE] is not JSON', () => {
    const usage = { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 };
    expect(read('openai', 'application/json', JSON.stringify({ choices: [], usage })).counts).toEqual({ inputTokens: 11, outputTokens: 4 });
    const stream = `${sse({ choices: [{ delta: { content: 'hi' } }], usage: null }, { choices: [], usage })}data: [DONE]\n\n`;
    expect(read('openai', 'text/event-stream', stream).counts).toEqual({ inputTokens: 11, outputTokens: 4 });
  });

  it('OpenAI Responses: usage from response.completed of a stream (nothing from the events before it), or from a whole response', () => {
    const usage = { input_tokens: 220, input_tokens_details: { cached_tokens: 14 }, output_tokens: 50, output_tokens_details: { reasoning_tokens: 6 }, total_tokens: 270 };
    const stream = sse(
      { type: 'response.created', response: { id: 'resp_1', status: 'in_progress', usage: null } },
      { type: 'response.output_item.done', item: { type: 'function_call', name: 'exec_command', arguments: '{"cmd":"ls"}', call_id: 'c1' } },
      { type: 'response.completed', response: { id: 'resp_1', status: 'completed', usage } },
    );
    for (const size of [1, 5, 4096]) expect(read('openai', 'text/event-stream', stream, size).counts).toEqual({ inputTokens: 220, outputTokens: 50 });
    expect(read('openai', 'text/event-stream', sse({ type: 'response.created', response: { usage: null } })).counts).toBeNull();
    // A stream that ends at max_output_tokens still spent them.
    expect(read('openai', 'text/event-stream', sse({ type: 'response.incomplete', response: { usage } })).counts).toEqual({ inputTokens: 220, outputTokens: 50 });
    expect(read('openai', 'application/json', JSON.stringify({ id: 'resp_2', object: 'response', output: [], usage })).counts).toEqual({ inputTokens: 220, outputTokens: 50 });
  });

  it('leaves a body larger than its limit unread, and says so', () => {
    const body = JSON.stringify({ usage: { prompt_tokens: 1, completion_tokens: 1 }, padding: 'x'.repeat(100) });
    expect(read('openai', 'application/json', body, 7, 50)).toEqual({ counts: null, overflowed: true });
  });

  it('ignores what is not JSON at all', () => {
    expect(read('openai', 'text/plain', 'upstream says <html>').counts).toBeNull();
    expect(read('openai', 'text/event-stream', 'data: {not json\n\n').counts).toBeNull();
  });
});
