import type { NewJobEvent, ToolInputView, Usage } from '@tinyb/contracts';
import { repoRelativePath } from '../repo-relative-path.js';
import { MESSAGE_MAX_CHARS, TOOL_INPUT_MAX_CHARS, TOOL_OUTPUT_MAX_CHARS, toolInputView } from '../tool-input-view.js';
import { truncateText } from '../truncate-text.js';
import type { CodexEvent, CodexItem, CodexUsage } from './codex-event.js';

/** Our names for the CLI's items that stand for tool calls (its own tool names where it has them). */
export const CODEX_TOOL = { command: 'exec_command', fileChange: 'apply_patch', webSearch: 'web_search' } as const;

export interface CodexEventMapper {
  /** The events one line stands for; called in line order. */
  map(line: CodexEvent): NewJobEvent[];
  /** How many tool calls the run has started so far (each command, file change, MCP call or search once). */
  readonly toolCalls: number;
}

/**
 * Maps `codex exec --json` lines to `agent.*` events: a message per `agent_message`, a tool call when an item
 * starts (or completes, for items that never said they started) and its result when it completes. A patch is
 * one item listing its files: each file becomes a call of its own, with the path relative to the checkout, as the
 * other agents' file tools show. Reasoning is not shown. One mapper per run.
 *
 * Usage is not an event here: the run's totals go to the job's UsageMeter, which publishes `agent.usage`.
 */
export function createCodexEventMapper(opts: { workdir?: string } = {}): CodexEventMapper {
  const started = new Set<string>();
  let toolCalls = 0;

  const callsOf = (item: Exclude<CodexItem, { type: 'agent_message' }>): NewJobEvent[] => {
    switch (item.type) {
      case 'command_execution':
        return [{ type: 'agent.tool_call', tool: CODEX_TOOL.command, callId: item.id, input: { command: truncateText(unwrapShell(item.command), TOOL_INPUT_MAX_CHARS) } }];
      case 'file_change':
        return item.changes.map((change, i) => ({
          type: 'agent.tool_call',
          tool: CODEX_TOOL.fileChange,
          callId: fileCallId(item.id, i, item.changes.length),
          input: { path: repoRelativePath(change.path, opts.workdir) },
        }));
      case 'mcp_tool_call':
        return [{ type: 'agent.tool_call', tool: `${item.server}.${item.tool}`, callId: item.id, input: mcpInputView(item.arguments, opts.workdir) }];
      case 'web_search':
        return [{ type: 'agent.tool_call', tool: CODEX_TOOL.webSearch, callId: item.id, input: { pattern: truncateText(item.query, TOOL_INPUT_MAX_CHARS) } }];
    }
  };

  const resultsOf = (item: Exclude<CodexItem, { type: 'agent_message' }>): NewJobEvent[] => {
    switch (item.type) {
      case 'command_execution':
        return [
          {
            type: 'agent.tool_result',
            tool: CODEX_TOOL.command,
            callId: item.id,
            ok: item.status === 'completed' && item.exit_code === 0,
            output: truncateText(item.aggregated_output, TOOL_OUTPUT_MAX_CHARS),
          },
        ];
      case 'file_change':
        return item.changes.map((change, i) => ({
          type: 'agent.tool_result',
          tool: CODEX_TOOL.fileChange,
          callId: fileCallId(item.id, i, item.changes.length),
          ok: item.status === 'completed',
          output: `${change.kind} ${repoRelativePath(change.path, opts.workdir)}`,
        }));
      case 'mcp_tool_call':
        return [{ type: 'agent.tool_result', tool: `${item.server}.${item.tool}`, callId: item.id, ok: item.status === 'completed', output: truncateText(item.error?.message ?? '', TOOL_OUTPUT_MAX_CHARS) }];
      case 'web_search':
        return [];
    }
  };

  const map = (line: CodexEvent): NewJobEvent[] => {
    switch (line.type) {
      case 'item.started':
      case 'item.completed': {
        const item = line.item;
        if (item.type === 'agent_message') {
          if (line.type !== 'item.completed' || item.text.trim() === '') return [];
          return [{ type: 'agent.message', text: truncateText(item.text, MESSAGE_MAX_CHARS) }];
        }
        const events: NewJobEvent[] = [];
        if (!started.has(item.id)) {
          started.add(item.id);
          toolCalls += 1;
          events.push(...callsOf(item));
        }
        if (line.type === 'item.completed') events.push(...resultsOf(item));
        return events;
      }
      case 'item.updated':
      case 'thread.started':
      case 'turn.started':
      case 'turn.completed':
      case 'turn.failed':
      case 'error':
        return [];
    }
  };

  return {
    map,
    get toolCalls() {
      return toolCalls;
    },
  };
}

function fileCallId(itemId: string, index: number, count: number): string {
  return count === 1 ? itemId : `${itemId}:${index}`;
}

/** MCP tools name their arguments freely; the common names are enough for a short view. */
function mcpInputView(args: unknown, workdir: string | undefined): ToolInputView {
  return toolInputView(args, { path: ['path', 'file_path', 'file'], command: ['command', 'cmd'], pattern: ['pattern', 'query'], oldText: ['old_string', 'old_text'], newText: ['new_string', 'new_text'] }, workdir);
}

/**
 * The command as the model wrote it: the CLI shows it wrapped in its shell (`/bin/bash -lc 'echo hi'`, or with
 * double quotes when the command holds a single quote, or bare when it is one word). Anything else is shown as it is.
 */
export function unwrapShell(command: string): string {
  const m = /^(?:\/usr)?\/bin\/(?:ba|z)?sh -lc (?:(['"])([\s\S]*)\1|([^\s'"\\$`]+))$/.exec(command);
  if (m?.[3]) return m[3]; // one word needs no quotes
  if (!m?.[2]) return command;
  const [, quote, inner] = m;
  if (quote === "'") return inner.includes("'") ? command : inner;
  // Inside double quotes a backslash escapes only these.
  return inner.replace(/\\([\\"$`])/g, '$1');
}

/** The run's token totals. Cached input is part of input_tokens, reasoning part of output_tokens; no cost. */
export function codexUsage(usage: CodexUsage): Usage {
  return { inputTokens: usage.input_tokens, outputTokens: usage.output_tokens };
}

/** What the model said last: its summary of the run. */
export function finalAgentMessage(lines: readonly CodexEvent[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (line.type === 'item.completed' && line.item.type === 'agent_message') return line.item.text.trim();
  }
  return '';
}
