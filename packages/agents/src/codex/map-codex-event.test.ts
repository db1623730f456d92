import type { NewJobEvent } from '@tinyb/contracts';
import { CodexEvent } from './codex-event.js';
import { codexUsage, createCodexEventMapper, finalAgentMessage, unwrapShell } from './map-codex-event.js';

/** Lines as `codex exec --json` 0.171 printed them against the fake (paths made to match the workdir). */
const RUN = [
  '{"type":"thread.started","thread_id":"01a2"}',
  '{"type":"turn.started"}',
  '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"thinking"}}',
  '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Three changes coming."}}',
  '{"type":"item.started","item":{"id":"item_2","type":"file_change","changes":[{"path":"/w/repo/NOTES.md","kind":"add"}],"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_2","type":"file_change","changes":[{"path":"/w/repo/NOTES.md","kind":"add"}],"status":"completed"}}',
  '{"type":"item.started","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc \'cat README.md\'","aggregated_output":"","exit_code":null,"status":"in_progress"}}',
  '{"type":"item.completed","item":{"id":"item_3","type":"command_execution","command":"/bin/bash -lc \'cat README.md\'","aggregated_output":"# Demo\\n","exit_code":0,"status":"completed"}}',
  '{"type":"item.completed","item":{"id":"item_4","type":"command_execution","command":"/bin/bash -lc false","aggregated_output":"","exit_code":1,"status":"failed"}}',
  '{"type":"item.completed","item":{"id":"item_5","type":"file_change","changes":[{"path":"/w/repo/a.md","kind":"update"},{"path":"/w/repo/b.md","kind":"delete"}],"status":"failed"}}',
  '{"type":"error","message":"Reconnecting... 1/5"}',
  '{"type":"item.completed","item":{"id":"item_6","type":"agent_message","text":"  Done.  "}}',
  '{"type":"turn.completed","usage":{"input_tokens":220,"cached_input_tokens":14,"cache_write_input_tokens":0,"output_tokens":50,"reasoning_output_tokens":6}}',
];

function parsed(lines: string[]): CodexEvent[] {
  return lines.flatMap((l) => {
    const r = CodexEvent.safeParse(JSON.parse(l));
    return r.success ? [r.data] : [];
  });
}

describe('createCodexEventMapper', () => {
  it('maps messages, commands and file changes (one call per file, repo-relative) in order; skips reasoning and errors', () => {
    const lines = parsed(RUN);
    // The reasoning item is not in the vocabulary: the runner skips it.
    expect(lines).toHaveLength(RUN.length - 1);
    const mapper = createCodexEventMapper({ workdir: '/w/repo' });
    const events: NewJobEvent[] = lines.flatMap((l) => mapper.map(l));
    expect(events).toEqual([
      { type: 'agent.message', text: 'Three changes coming.' },
      { type: 'agent.tool_call', tool: 'apply_patch', callId: 'item_2', input: { path: 'NOTES.md' } },
      { type: 'agent.tool_result', tool: 'apply_patch', callId: 'item_2', ok: true, output: 'add NOTES.md' },
      { type: 'agent.tool_call', tool: 'exec_command', callId: 'item_3', input: { command: 'cat README.md' } },
      { type: 'agent.tool_result', tool: 'exec_command', callId: 'item_3', ok: true, output: '# Demo\n' },
      // Completed without a start: the call comes first.
      { type: 'agent.tool_call', tool: 'exec_command', callId: 'item_4', input: { command: 'false' } },
      { type: 'agent.tool_result', tool: 'exec_command', callId: 'item_4', ok: false, output: '' },
      { type: 'agent.tool_call', tool: 'apply_patch', callId: 'item_5:0', input: { path: 'a.md' } },
      { type: 'agent.tool_call', tool: 'apply_patch', callId: 'item_5:1', input: { path: 'b.md' } },
      { type: 'agent.tool_result', tool: 'apply_patch', callId: 'item_5:0', ok: false, output: 'update a.md' },
      { type: 'agent.tool_result', tool: 'apply_patch', callId: 'item_5:1', ok: false, output: 'delete b.md' },
      { type: 'agent.message', text: '  Done.  ' },
    ]);
    expect(mapper.toolCalls).toBe(4);
    expect(finalAgentMessage(lines)).toBe('Done.');
  });

  it('truncates long output and commands, and never shows more than a path for a file', () => {
    const mapper = createCodexEventMapper({ workdir: '/w/repo' });
    const long = 'x'.repeat(10_000);
    const [call, result] = mapper.map(
      CodexEvent.parse({ type: 'item.completed', item: { id: 'i', type: 'command_execution', command: `/bin/bash -lc 'echo ${long}'`, aggregated_output: long, exit_code: 0, status: 'completed' } }),
    );
    expect(call).toMatchObject({ type: 'agent.tool_call', input: { command: expect.stringMatching(/more chars\]$/) } });
    expect(JSON.stringify(call).length).toBeLessThan(500);
    expect(result).toMatchObject({ type: 'agent.tool_result', output: expect.stringMatching(/more chars\]$/) });
    expect(JSON.stringify(result).length).toBeLessThan(2_200);
  });

  it('maps MCP calls and web searches too', () => {
    const mapper = createCodexEventMapper({ workdir: '/w/repo' });
    const events = [
      { type: 'item.started', item: { id: 'm', type: 'mcp_tool_call', server: 'docs', tool: 'read', arguments: { path: '/w/repo/x.md' }, status: 'in_progress' } },
      { type: 'item.completed', item: { id: 'm', type: 'mcp_tool_call', server: 'docs', tool: 'read', arguments: {}, status: 'failed', error: { message: 'nope' } } },
      { type: 'item.completed', item: { id: 's', type: 'web_search', query: 'zod v4' } },
    ].flatMap((l) => mapper.map(CodexEvent.parse(l)));
    expect(events).toEqual([
      { type: 'agent.tool_call', tool: 'docs.read', callId: 'm', input: { path: 'x.md' } },
      { type: 'agent.tool_result', tool: 'docs.read', callId: 'm', ok: false, output: 'nope' },
      { type: 'agent.tool_call', tool: 'web_search', callId: 's', input: { pattern: 'zod v4' } },
    ]);
  });
});

describe('unwrapShell', () => {
  it('shows the command the model wrote, not the shell around it', () => {
    expect(unwrapShell("/bin/bash -lc 'echo hi > a.txt'")).toBe('echo hi > a.txt');
    expect(unwrapShell('/bin/bash -lc "printf \'hi\\\\n\' > \\"x\\" \\$HOME"')).toBe('printf \'hi\\n\' > "x" $HOME');
    expect(unwrapShell('/bin/zsh -lc ls')).toBe('ls');
    expect(unwrapShell('/bin/sh -c ls')).toBe('/bin/sh -c ls');
    // A single-quoted command with the '\'' idiom inside is left as it is rather than half-unquoted.
    expect(unwrapShell("/bin/bash -lc 'echo '\\''x'\\'''")).toBe("/bin/bash -lc 'echo '\\''x'\\'''");
    expect(unwrapShell('git status')).toBe('git status');
  });
});

describe('codexUsage', () => {
  it('input with cached tokens (part of it), output with reasoning (part of it)', () => {
    expect(codexUsage({ input_tokens: 220, cached_input_tokens: 14, output_tokens: 50, reasoning_output_tokens: 6 })).toEqual({ inputTokens: 220, outputTokens: 50 });
  });
});
