import {
  MESSAGE_MAX_CHARS,
  TOOL_OUTPUT_MAX_CHARS,
  toolInputView,
  type ToolInputFields,
} from '../tool-input-view.js';

import type { NewJobEvent, ToolInputView, Usage } from '@tinyb/contracts';
import { truncateText } from '../truncate-text.js';
import type { ClaudeResultLine, ClaudeStreamLine } from './stream-json-line.js';

/**
 * Maps the Claude Code stream-json lines to `agent.*` events. The returned function is pure apart from
 * remembering which tool each call id belongs to, because a tool_result line names only the call id.
 * One mapper per run.
 */
export function createClaudeLineMapper(opts: { workdir?: string } = {}): (line: ClaudeStreamLine) => NewJobEvent[] {
  const toolNames = new Map<string, string>();

  return (line) => {
    switch (line.type) {
      case 'assistant': {
        const events: NewJobEvent[] = [];
        for (const block of line.message.content) {
          if ('text' in block && block.type === 'text') {
            if (block.text.trim() !== '') events.push({ type: 'agent.message', text: truncateText(block.text, MESSAGE_MAX_CHARS) });
          } else if ('name' in block && block.type === 'tool_use') {
            toolNames.set(block.id, block.name);
            events.push({ type: 'agent.tool_call', tool: block.name, callId: block.id, input: claudeToolInputView(block.input, opts.workdir) });
          }
        }
        return events;
      }
      case 'user': {
        if (typeof line.message.content === 'string') return [];
        const events: NewJobEvent[] = [];
        for (const block of line.message.content) {
          if (!('tool_use_id' in block) || block.type !== 'tool_result') continue;
          const tool = toolNames.get(block.tool_use_id);
          events.push({
            type: 'agent.tool_result',
            callId: block.tool_use_id,
            ...(tool === undefined ? {} : { tool }),
            ok: block.is_error !== true,
            output: truncateText(toolResultText(block.content), TOOL_OUTPUT_MAX_CHARS),
          });
        }
        return events;
      }
      // Usage is not an event of the line: the agent reports it to the job's usage meter (see ClaudeUsageTally).
      case 'result':
      case 'system':
        return [];
    }
  };
}

const FIELDS: ToolInputFields = {
  path: ['file_path', 'notebook_path', 'path'],
  command: ['command'],
  pattern: ['pattern'],
  oldText: ['old_string'],
  newText: ['new_string'],
};

/** A short view of the tool's input (see toolInputView). */
export function claudeToolInputView(input: Record<string, unknown>, workdir?: string): ToolInputView {
  return toolInputView(input, FIELDS, workdir);
}

/** The run's token totals from its `result` line. */
export function resultUsage(result: ClaudeResultLine): Usage | undefined {
  if (!result.usage) return undefined;
  return {
    ...tokenUsage(result.usage),
    ...(result.total_cost_usd === undefined ? {} : { costUsd: result.total_cost_usd }),
  };
}

type MessageUsage = NonNullable<ClaudeResultLine['usage']>;

function tokenUsage(u: MessageUsage): Usage {
  return {
    // Cached prompt tokens are still input the model read (and are billed), so they count as input.
    inputTokens: u.input_tokens + (u.cache_creation_input_tokens ?? 0) + (u.cache_read_input_tokens ?? 0),
    outputTokens: u.output_tokens,
  };
}

/**
 * The run's cumulative usage while it runs: each model response (assistant lines, grouped by message id)
 * counts once with its latest numbers, so a budget can stop the run between turns; the final `result` line
 * then gives the CLI's own totals, with cost. Returns the new total when a line changed it.
 */
export class ClaudeUsageTally {
  private readonly perMessage = new Map<string, Usage>();
  private final: Usage | undefined;

  observe(line: ClaudeStreamLine): Usage | undefined {
    if (line.type === 'result') {
      this.final = resultUsage(line);
      return this.final;
    }
    if (line.type !== 'assistant' || !line.message.id || !line.message.usage || this.final) return undefined;
    this.perMessage.set(line.message.id, tokenUsage(line.message.usage));
    let inputTokens = 0;
    let outputTokens = 0;
    for (const u of this.perMessage.values()) {
      inputTokens += u.inputTokens;
      outputTokens += u.outputTokens;
    }
    return { inputTokens, outputTokens };
  }
}

/** Tool result content is a string or a list of blocks (text, images); only the text is shown. */
function toolResultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((b: unknown) =>
      typeof b === 'object' && b !== null && 'text' in b && typeof b.text === 'string' ? b.text : '',
    )
    .filter((t) => t !== '')
    .join('\n');
}
