import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import { ChunkAccumulator, turnFromCompletion } from './model-turn.js';

type Delta = ChatCompletionChunk.Choice.Delta;
const chunk = (delta: Delta, extra: Partial<ChatCompletionChunk.Choice> = {}, usage?: ChatCompletionChunk['usage']): ChatCompletionChunk => ({
  id: 'c',
  object: 'chat.completion.chunk',
  created: 0,
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: null, ...extra }],
  ...(usage ? { usage } : {}),
});
const fold = (chunks: ChatCompletionChunk[]) => {
  const acc = new ChunkAccumulator('call_1');
  for (const c of chunks) acc.add(c);
  return acc.result();
};

describe('ChunkAccumulator', () => {
  it('joins text and tool-call argument pieces by index, as OpenAI streams them', () => {
    expect(
      fold([
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Two ' }),
        chunk({ content: 'calls.' }),
        chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'read_file', arguments: '' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"path":' } }] }),
        chunk({ tool_calls: [{ index: 1, id: 'b', type: 'function', function: { name: 'run_command', arguments: '{"command":"ls"}' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"README.md"}' } }] }),
        chunk({}, { finish_reason: 'tool_calls' }),
        { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } },
      ]),
    ).toEqual({
      text: 'Two calls.',
      toolCalls: [
        { id: 'a', name: 'read_file', arguments: '{"path":"README.md"}' },
        { id: 'b', name: 'run_command', arguments: '{"command":"ls"}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 7, outputTokens: 3 },
    });
  });

  it('copes with servers that repeat the name, omit ids or indexes, or send usage with the last choice', () => {
    const noIndex = { function: { arguments: '{}' } } as unknown as ChatCompletionChunk.Choice.Delta.ToolCall;
    const turn = fold([
      chunk({ tool_calls: [{ index: 0, function: { name: 'list_files', arguments: '{"de' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'list_files', arguments: 'pth":1}' } }] }),
      chunk({ tool_calls: [{ id: 'x', function: { name: 'read_file', arguments: '' } } as unknown as ChatCompletionChunk.Choice.Delta.ToolCall] }),
      chunk({ tool_calls: [noIndex] }),
      chunk({}, { finish_reason: 'tool_calls' }, { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }),
    ]);
    expect(turn).toEqual({
      text: '',
      toolCalls: [
        { id: 'call_1_0', name: 'list_files', arguments: '{"depth":1}' },
        { id: 'x', name: 'read_file', arguments: '{}' },
      ],
      finishReason: 'tool_calls',
      usage: { inputTokens: 1, outputTokens: 2 },
    });
  });

  it('has no usage when the server reports none', () => {
    expect(fold([chunk({ content: 'hi' }, { finish_reason: 'stop' })])).toEqual({ text: 'hi', toolCalls: [], finishReason: 'stop' });
  });
});

describe('turnFromCompletion', () => {
  const completion = (message: Partial<ChatCompletion.Choice['message']>, usage?: ChatCompletion['usage']): ChatCompletion => ({
    id: 'c',
    object: 'chat.completion',
    created: 0,
    model: 'm',
    choices: [{ index: 0, logprobs: null, finish_reason: 'tool_calls', message: { role: 'assistant', content: null, refusal: null, ...message } }],
    ...(usage ? { usage } : {}),
  });

  it('reads text, function tool calls and usage', () => {
    expect(
      turnFromCompletion(
        completion(
          { content: 'Reading.', tool_calls: [{ id: 'a', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }] },
          { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 },
        ),
        'call_2',
      ),
    ).toEqual({ text: 'Reading.', toolCalls: [{ id: 'a', name: 'read_file', arguments: '{"path":"a"}' }], finishReason: 'tool_calls', usage: { inputTokens: 5, outputTokens: 6 } });
  });

  it('names calls without an id and accepts arguments sent as an object', () => {
    const calls = [{ id: '', type: 'function', function: { name: 'write_file', arguments: { path: 'x', content: 'y' } } }] as unknown as ChatCompletion.Choice['message']['tool_calls'];
    expect(turnFromCompletion(completion({ tool_calls: calls }), 'call_3').toolCalls).toEqual([
      { id: 'call_3_0', name: 'write_file', arguments: '{"path":"x","content":"y"}' },
    ]);
  });

  it('treats a response without choices as an empty final answer', () => {
    expect(turnFromCompletion({ ...completion({}), choices: [] }, 'call_4')).toEqual({ text: '', toolCalls: [], finishReason: null });
  });
});
