import { GeminiStreamLine } from './gemini-stream-line.js';
import { createGeminiLineMapper, finalAssistantText, geminiStatsUsage, geminiToolInputView } from './map-gemini-stream-line.js';

/** Lines as Gemini CLI 0.61.0 printed them against the fake (`[scenario:write]`, then one tool error). */
const recorded = [
  '{"type":"init","timestamp":"2026-11-27T16:02:01.098Z","session_id":"538e46ba","model":"gemini-2.5-pro"}',
  '{"type":"message","timestamp":"2026-11-27T16:02:01.100Z","role":"user","content":"Do it [scenario:write]"}',
  '{"type":"message","timestamp":"2026-11-27T16:02:01.146Z","role":"assistant","content":"I will creat","delta":true}',
  '{"type":"message","timestamp":"2026-11-27T16:02:01.148Z","role":"assistant","content":"e the file.","delta":true}',
  '{"type":"tool_use","timestamp":"2026-11-27T16:02:01.206Z","tool_name":"write_file","tool_id":"write_file__write_file_1795795321149_0","parameters":{"file_path":"/w/repo/HELLO.md","content":"# Hello\\n"}}',
  '{"type":"tool_result","timestamp":"2026-11-27T16:02:01.314Z","tool_id":"write_file__write_file_1795795321149_0","status":"success"}',
  '{"type":"tool_use","timestamp":"2026-11-27T16:02:01.320Z","tool_name":"read_file","tool_id":"read_file__1","parameters":{"file_path":"/NOTES.md"}}',
  '{"type":"tool_result","timestamp":"2026-11-27T16:02:01.322Z","tool_id":"read_file__1","status":"error","output":"Path not in workspace: /NOTES.md","error":{"type":"invalid_tool_params","message":"Path not in workspace: /NOTES.md"}}',
  '{"type":"tool_use","timestamp":"2026-11-27T16:02:01.325Z","tool_name":"run_shell_command","tool_id":"run_shell_command__2","parameters":{"command":"rm obsolete.txt","description":"Remove"}}',
  '{"type":"tool_result","timestamp":"2026-11-27T16:02:01.330Z","tool_id":"run_shell_command__2","status":"success","output":"round-1"}',
  '{"type":"error","timestamp":"2026-11-27T16:02:01.331Z","severity":"warning","message":"Loop detected, stopping execution"}',
  '{"type":"message","timestamp":"2026-11-27T16:02:01.338Z","role":"assistant","content":"Done: create","delta":true}',
  '{"type":"message","timestamp":"2026-11-27T16:02:01.339Z","role":"assistant","content":"d HELLO.md.","delta":true}',
  '{"type":"result","timestamp":"2026-11-27T16:02:01.345Z","status":"success","stats":{"total_tokens":240,"input_tokens":200,"output_tokens":40,"cached":0,"input":200,"duration_ms":247,"tool_calls":1,"models":{"fake-gemini":{"total_tokens":240}}}}',
].map((l) => GeminiStreamLine.parse(JSON.parse(l)));

describe('createGeminiLineMapper', () => {
  it('maps a recorded run: deltas coalesced per turn, tools named, paths repo-relative, no usage event', () => {
    const mapper = createGeminiLineMapper({ workdir: '/w/repo' });
    const events = recorded.flatMap((l) => mapper.map(l));
    expect(events).toEqual([
      { type: 'agent.message', text: 'I will create the file.' },
      { type: 'agent.tool_call', tool: 'write_file', callId: 'write_file__write_file_1795795321149_0', input: { path: 'HELLO.md' } },
      { type: 'agent.tool_result', tool: 'write_file', callId: 'write_file__write_file_1795795321149_0', ok: true, output: '' },
      { type: 'agent.tool_call', tool: 'read_file', callId: 'read_file__1', input: { path: '/NOTES.md' } },
      { type: 'agent.tool_result', tool: 'read_file', callId: 'read_file__1', ok: false, output: 'Path not in workspace: /NOTES.md' },
      { type: 'agent.tool_call', tool: 'run_shell_command', callId: 'run_shell_command__2', input: { command: 'rm obsolete.txt' } },
      { type: 'agent.tool_result', tool: 'run_shell_command', callId: 'run_shell_command__2', ok: true, output: 'round-1' },
      { type: 'agent.message', text: 'Done: created HELLO.md.' },
    ]);
    expect(mapper.flush()).toEqual([]);
  });

  it('emits a turn’s text before its tool call, not before the turn’s text is complete', () => {
    const mapper = createGeminiLineMapper();
    expect(mapper.map({ type: 'message', role: 'assistant', content: 'Hal', delta: true })).toEqual([]);
    expect(mapper.map({ type: 'message', role: 'assistant', content: 'f', delta: true })).toEqual([]);
    const events = mapper.map({ type: 'tool_use', tool_name: 'glob', tool_id: 't', parameters: { pattern: '**/*.ts', dir_path: 'src' } });
    expect(events).toEqual([
      { type: 'agent.message', text: 'Half' },
      { type: 'agent.tool_call', tool: 'glob', callId: 't', input: { pattern: '**/*.ts', path: 'src' } },
    ]);
  });

  it('flush hands back text the CLI left without a closing line; whitespace alone is no message', () => {
    const mapper = createGeminiLineMapper();
    mapper.map({ type: 'message', role: 'assistant', content: 'cut sh', delta: true });
    expect(mapper.flush()).toEqual([{ type: 'agent.message', text: 'cut sh' }]);
    mapper.map({ type: 'message', role: 'assistant', content: '\n  ', delta: true });
    expect(mapper.map({ type: 'result', status: 'success' })).toEqual([]);
  });

  it('a tool result for an unknown call still maps, without a tool name; long output is cut', () => {
    const mapper = createGeminiLineMapper();
    const [event] = mapper.map({ type: 'tool_result', tool_id: 'x', status: 'success', output: 'y'.repeat(5000) });
    expect(event).toMatchObject({ type: 'agent.tool_result', callId: 'x', ok: true });
    expect(event).not.toHaveProperty('tool');
    expect(event?.type === 'agent.tool_result' && event.output.length).toBe(2000);
  });

  it('skips the user’s prompt echo', () => {
    expect(createGeminiLineMapper().map({ type: 'message', role: 'user', content: 'secret-ish prompt' })).toEqual([]);
  });
});

describe('geminiToolInputView', () => {
  it('shows an edit’s path and texts but never file contents', () => {
    expect(
      geminiToolInputView(
        { file_path: '/w/repo/a/b.ts', old_string: 'x', new_string: 'y', instruction: 'fix', content: 'whole file' },
        '/w/repo',
      ),
    ).toEqual({ path: 'a/b.ts', oldText: 'x', newText: 'y' });
  });

  it('cuts long commands', () => {
    expect(geminiToolInputView({ command: 'a'.repeat(1000) }).command).toHaveLength(300);
  });
});

describe('geminiStatsUsage', () => {
  it('takes input and output tokens from the stats', () => {
    expect(geminiStatsUsage({ total_tokens: 240, input_tokens: 200, output_tokens: 40 })).toEqual({ inputTokens: 200, outputTokens: 40 });
  });

  it('counts thought tokens (in the total, not in output_tokens) as output', () => {
    expect(geminiStatsUsage({ total_tokens: 300, input_tokens: 200, output_tokens: 40 })).toEqual({ inputTokens: 200, outputTokens: 100 });
  });
});

describe('finalAssistantText', () => {
  it('is the text after the last tool call', () => {
    expect(finalAssistantText(recorded)).toBe('Done: created HELLO.md.');
  });

  it('is empty when the run ended on a tool call', () => {
    expect(finalAssistantText(recorded.slice(0, 6))).toBe('');
  });
});
