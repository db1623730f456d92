import { messageEvents, toolCallEvent, openAiToolInputView as toolInputView, toolResultEvent } from './tool-call-events.js';
import { MESSAGE_MAX_CHARS, TOOL_INPUT_MAX_CHARS, TOOL_OUTPUT_MAX_CHARS } from '../tool-input-view.js';

const workdir = '/workspace/repo';

describe('OpenAI agent event mapping', () => {
  it('maps assistant text to agent.message, skipping blank text, truncating long text', () => {
    expect(messageEvents('I will edit it.')).toEqual([{ type: 'agent.message', text: 'I will edit it.' }]);
    expect(messageEvents('  \n')).toEqual([]);
    const [long] = messageEvents('x'.repeat(MESSAGE_MAX_CHARS * 2));
    expect(long?.type === 'agent.message' && long.text.length).toBe(MESSAGE_MAX_CHARS);
  });

  it('names the tool as the model called it, with a repo-relative path and no file content', () => {
    expect(toolCallEvent({ id: 'call_1', name: 'write_file', args: { path: `${workdir}/src/a.ts`, content: 'SECRET FILE BODY' } }, workdir)).toEqual({
      type: 'agent.tool_call',
      tool: 'write_file',
      callId: 'call_1',
      input: { path: 'src/a.ts' },
    });
    expect(toolInputView({ path: './README.md' }, workdir)).toEqual({ path: 'README.md' });
    expect(toolInputView({ path: '.' }, workdir)).toEqual({ path: '.' });
  });

  it('shows edits, commands and patterns, truncated', () => {
    expect(toolInputView({ path: 'README.md', old_text: 'a', new_text: 'b' }, workdir)).toEqual({ path: 'README.md', oldText: 'a', newText: 'b' });
    expect(toolInputView({ pattern: 'TODO', path: 'src' }, workdir)).toEqual({ pattern: 'TODO', path: 'src' });
    const view = toolInputView({ command: 'echo '.repeat(200) }, workdir);
    expect(view.command?.length).toBe(TOOL_INPUT_MAX_CHARS);
    expect(view.command).toContain('more chars]');
  });

  it('shows nothing of arguments that are not an object', () => {
    expect(toolCallEvent({ id: 'c', name: 'nonsense', args: undefined }, workdir)).toEqual({ type: 'agent.tool_call', tool: 'nonsense', callId: 'c', input: {} });
    expect(toolInputView(['path'], workdir)).toEqual({});
    expect(toolInputView({ path: 42 }, workdir)).toEqual({});
  });

  it('maps a tool result with ok and truncated output', () => {
    expect(toolResultEvent({ id: 'c', name: 'run_command' }, { ok: false, output: 'y'.repeat(10_000) })).toEqual({
      type: 'agent.tool_result',
      tool: 'run_command',
      callId: 'c',
      ok: false,
      output: expect.stringMatching(/^y+… \[\d+ more chars\]$/),
    });
    const e = toolResultEvent({ id: 'c', name: 'read_file' }, { ok: true, output: 'z'.repeat(10_000) });
    expect(e.type === 'agent.tool_result' && e.output.length).toBe(TOOL_OUTPUT_MAX_CHARS);
  });
});
