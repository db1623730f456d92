import { ClaudeStreamLine } from './stream-json-line.js';
import { ClaudeUsageTally, createClaudeLineMapper } from './map-stream-json-line.js';
import { TOOL_INPUT_MAX_CHARS, TOOL_OUTPUT_MAX_CHARS } from '../tool-input-view.js';

// Lines recorded from claude 2.1.197 against the fake Anthropic API (trimmed of fields we do not read).
const recorded = {
  init: '{"type":"system","subtype":"init","cwd":"/tmp/agt/repo","session_id":"819b","tools":["Task","Bash","Write"],"mcp_servers":[],"model":"claude-opus-4-8[1m]","permissionMode":"bypassPermissions","apiKeySource":"ANTHROPIC_API_KEY","claude_code_version":"2.1.197"}',
  text: '{"type":"assistant","message":{"id":"msg_fake_1","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"I will create the file."}],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":100,"output_tokens":1,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"context_management":null},"parent_tool_use_id":null,"session_id":"819b","uuid":"u1","request_id":"req_msg_fake_1"}',
  write: '{"type":"assistant","message":{"id":"msg_fake_1","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_fake_1_1","name":"Write","input":{"file_path":"/tmp/agt/repo/HELLO.md","content":"# Hello\\n\\nWritten by the fake model.\\n"}}],"stop_reason":null},"parent_tool_use_id":null,"session_id":"819b","uuid":"u2"}',
  writeResult: '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_fake_1_1","type":"tool_result","content":"File created successfully at: /tmp/agt/repo/HELLO.md"}]},"parent_tool_use_id":null,"session_id":"819b","uuid":"u3","timestamp":"2026-11-27T15:35:22.637Z","tool_use_result":{"type":"create","filePath":"/tmp/agt/repo/HELLO.md","content":"# Hello","structuredPatch":[],"originalFile":null}}',
  edit: '{"type":"assistant","message":{"id":"msg_fake_5","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_fake_3_5","name":"Edit","input":{"replace_all":false,"file_path":"/tmp/agt/repo/README.md","old_string":"Status: draft","new_string":"Status: edited by the fake model"}}],"stop_reason":null},"parent_tool_use_id":null,"session_id":"a543","uuid":"u4"}',
  bash: '{"type":"assistant","message":{"id":"msg_fake_6","type":"message","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_fake_4_6","name":"Bash","input":{"command":"rm obsolete.txt","description":"Remove obsolete file"}}],"stop_reason":null},"parent_tool_use_id":null,"session_id":"a543","uuid":"u5"}',
  bashResult: '{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_fake_4_6","type":"tool_result","content":"(Bash completed with no output)","is_error":false}]},"parent_tool_use_id":null,"session_id":"a543","uuid":"u6","tool_use_result":{"stdout":"","stderr":"","interrupted":false,"isImage":false}}',
  bashFailed: '{"type":"user","message":{"role":"user","content":[{"type":"tool_result","content":"Exit code 137","is_error":true,"tool_use_id":"toolu_fake_1_12"}]},"parent_tool_use_id":null,"session_id":"f446","uuid":"u7","tool_use_result":"Error: Exit code 137"}',
  taskStarted: '{"type":"system","subtype":"task_started","task_id":"bjk1tidgs","tool_use_id":"toolu_fake_1_12","description":"Wait","task_type":"local_bash","uuid":"u8","session_id":"f446"}',
  success: '{"type":"result","subtype":"success","is_error":false,"api_error_status":null,"duration_ms":163,"duration_api_ms":48,"num_turns":2,"result":"Done: created HELLO.md.","stop_reason":"end_turn","session_id":"819b","total_cost_usd":0.002,"usage":{"input_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":"standard"},"modelUsage":{},"permission_denials":[],"terminal_reason":"completed"}',
  maxTurns: '{"type":"result","subtype":"error_max_turns","duration_ms":240,"duration_api_ms":66,"is_error":true,"num_turns":3,"stop_reason":"tool_use","session_id":"1724","total_cost_usd":0.002,"usage":{"input_tokens":200,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":40}}',
  apiRetry: '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":1,"retry_delay_ms":550.12,"error_status":500,"error":"server_error","session_id":"66f8","uuid":"u9"}',
  apiError: '{"type":"result","subtype":"success","is_error":true,"api_error_status":500,"duration_ms":680,"duration_api_ms":0,"num_turns":1,"result":"API Error: 500 fake 500. This is a server-side issue","stop_reason":"stop_sequence","session_id":"66f8","total_cost_usd":0,"usage":{"input_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":0}}',
} as const;

const parse = (raw: string) => ClaudeStreamLine.parse(JSON.parse(raw));

describe('Claude stream-json lines → agent events', () => {
  it('maps a whole write run in order', () => {
    const map = createClaudeLineMapper();
    const events = [recorded.init, recorded.text, recorded.write, recorded.writeResult, recorded.success].flatMap((l) => map(parse(l)));
    expect(events).toEqual([
      { type: 'agent.message', text: 'I will create the file.' },
      { type: 'agent.tool_call', tool: 'Write', callId: 'toolu_fake_1_1', input: { path: '/tmp/agt/repo/HELLO.md' } },
      {
        type: 'agent.tool_result',
        tool: 'Write',
        callId: 'toolu_fake_1_1',
        ok: true,
        output: 'File created successfully at: /tmp/agt/repo/HELLO.md',
      },
    ]);
  });

  it('tallies usage per model response while the run goes, then takes the result line as final', () => {
    const tally = new ClaudeUsageTally();
    expect(tally.observe(parse(recorded.init))).toBeUndefined();
    expect(tally.observe(parse(recorded.text))).toEqual({ inputTokens: 100, outputTokens: 1 });
    // Another block of the same response does not count twice.
    expect(tally.observe(parse(recorded.text))).toEqual({ inputTokens: 100, outputTokens: 1 });
    expect(tally.observe(parse(recorded.success))).toEqual({ inputTokens: 200, outputTokens: 40, costUsd: 0.002 });
    expect(tally.observe(parse(recorded.maxTurns))).toEqual({ inputTokens: 200, outputTokens: 40, costUsd: 0.002 });
  });

  it('shows an edit as path, old and new text, and a command for Bash', () => {
    const map = createClaudeLineMapper();
    expect(map(parse(recorded.edit))).toEqual([
      {
        type: 'agent.tool_call',
        tool: 'Edit',
        callId: 'toolu_fake_3_5',
        input: { path: '/tmp/agt/repo/README.md', oldText: 'Status: draft', newText: 'Status: edited by the fake model' },
      },
    ]);
    expect(map(parse(recorded.bash))).toEqual([
      { type: 'agent.tool_call', tool: 'Bash', callId: 'toolu_fake_4_6', input: { command: 'rm obsolete.txt' } },
    ]);
    expect(map(parse(recorded.bashResult))).toEqual([
      { type: 'agent.tool_result', tool: 'Bash', callId: 'toolu_fake_4_6', ok: true, output: '(Bash completed with no output)' },
    ]);
  });

  it('marks failed tool results and leaves out the tool name it never saw', () => {
    const map = createClaudeLineMapper();
    expect(map(parse(recorded.bashFailed))).toEqual([
      { type: 'agent.tool_result', callId: 'toolu_fake_1_12', ok: false, output: 'Exit code 137' },
    ]);
  });

  it('emits nothing for system and result lines (usage goes to the usage meter)', () => {
    const map = createClaudeLineMapper();
    expect(map(parse(recorded.taskStarted))).toEqual([]);
    expect(map(parse(recorded.apiRetry))).toEqual([]);
    expect(map(parse(recorded.maxTurns))).toEqual([]);
    expect(map(parse(recorded.apiError))).toEqual([]);
  });

  it('truncates long inputs and outputs, and never shows file contents', () => {
    const map = createClaudeLineMapper();
    const long = 'y'.repeat(10_000);
    const call = map(
      ClaudeStreamLine.parse({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: long } }, { type: 'thinking', thinking: 'hm' }] },
      }),
    );
    expect(call).toHaveLength(1);
    const view = call[0]?.type === 'agent.tool_call' ? call[0].input : undefined;
    expect(view?.command?.length).toBeLessThanOrEqual(TOOL_INPUT_MAX_CHARS);

    const write = map(
      ClaudeStreamLine.parse({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 't2', name: 'Write', input: { file_path: '/a', content: long } }] },
      }),
    );
    expect(JSON.stringify(write)).not.toContain('yyyy');

    const result = map(
      ClaudeStreamLine.parse({
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: long }] }] },
      }),
    );
    const output = result[0]?.type === 'agent.tool_result' ? result[0].output : '';
    expect(output.length).toBeLessThanOrEqual(TOOL_OUTPUT_MAX_CHARS);
    expect(result[0]).toMatchObject({ tool: 'Bash', ok: true });
  });

  it('Grep and Glob show their pattern', () => {
    const map = createClaudeLineMapper();
    const events = map(
      ClaudeStreamLine.parse({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 'g', name: 'Grep', input: { pattern: 'TODO', path: 'src' } }] },
      }),
    );
    expect(events).toEqual([{ type: 'agent.tool_call', tool: 'Grep', callId: 'g', input: { pattern: 'TODO', path: 'src' } }]);
  });

  it('rejects lines of unknown shape (the runner skips them)', () => {
    expect(ClaudeStreamLine.safeParse({ type: 'stream_event', event: {} }).success).toBe(false);
    expect(ClaudeStreamLine.safeParse({ type: 'result' }).success).toBe(false);
  });
});
