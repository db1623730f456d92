import {
  MESSAGE_MAX_CHARS,
  TOOL_OUTPUT_MAX_CHARS,
  toolInputView,
  type ToolInputFields,
} from '../tool-input-view.js';

import type { NewJobEvent, ToolInputView, Usage } from '@tinyb/contracts';
import { truncateText } from '../truncate-text.js';
import type { GeminiStats, GeminiStreamLine } from './gemini-stream-line.js';

export interface GeminiLineMapper {
  /** The events one line stands for; called in line order. */
  map(line: GeminiStreamLine): NewJobEvent[];
  /** Text still held back (the CLI ended mid-turn, without a line that closes it). */
  flush(): NewJobEvent[];
}

/**
 * Maps the Gemini CLI's stream-json lines to `agent.*` events. The CLI prints the model's text as many small
 * deltas; one `agent.message` per turn is what a reader wants, so deltas are held until the turn's text is
 * complete, which the next non-text line (a tool call, a result, the end) shows. Tool results name only
 * the call id, so the tool's name is remembered from its call. One mapper per run.
 *
 * Usage is not an event here: the run's totals go to the job's UsageMeter, which publishes `agent.usage`.
 */
export function createGeminiLineMapper(opts: { workdir?: string } = {}): GeminiLineMapper {
  const toolNames = new Map<string, string>();
  let pending = '';

  const flush = (): NewJobEvent[] => {
    const text = pending;
    pending = '';
    return text.trim() === '' ? [] : [{ type: 'agent.message', text: truncateText(text, MESSAGE_MAX_CHARS) }];
  };

  const map = (line: GeminiStreamLine): NewJobEvent[] => {
    switch (line.type) {
      case 'message':
        if (line.role !== 'assistant') return [];
        if (line.delta === true) {
          pending += line.content;
          return [];
        }
        // A whole message (not seen from 0.61, but part of the vocabulary): it closes whatever came before.
        pending += line.content;
        return flush();
      case 'tool_use':
        toolNames.set(line.tool_id, line.tool_name);
        return [
          ...flush(),
          { type: 'agent.tool_call', tool: line.tool_name, callId: line.tool_id, input: geminiToolInputView(line.parameters, opts.workdir) },
        ];
      case 'tool_result': {
        const tool = toolNames.get(line.tool_id);
        const ok = line.status === 'success';
        const output = line.output ?? (ok ? '' : (line.error?.message ?? ''));
        return [
          ...flush(),
          {
            type: 'agent.tool_result',
            callId: line.tool_id,
            ...(tool === undefined ? {} : { tool }),
            ok,
            output: truncateText(output, TOOL_OUTPUT_MAX_CHARS),
          },
        ];
      }
      case 'error':
      case 'result':
        return flush();
      case 'init':
        return [];
    }
  };

  return { map, flush };
}

const FIELDS: ToolInputFields = {
  path: ['file_path', 'dir_path', 'path', 'absolute_path'],
  command: ['command'],
  pattern: ['pattern'],
  oldText: ['old_string'],
  newText: ['new_string'],
};

/** A short view of the tool's input (see toolInputView). */
export function geminiToolInputView(input: Record<string, unknown>, workdir?: string): ToolInputView {
  return toolInputView(input, FIELDS, workdir);
}

/**
 * The run's token totals from a `result` line's stats. `input_tokens` is the prompt, cached tokens included
 * (they are still read and billed); `total_tokens` also counts the model's thoughts, which are billed as
 * output, so output is whatever the total has beyond the input. The CLI reports no cost.
 */
export function geminiStatsUsage(stats: GeminiStats): Usage {
  const fromTotal = stats.total_tokens === undefined ? 0 : stats.total_tokens - stats.input_tokens;
  return { inputTokens: stats.input_tokens, outputTokens: Math.max(stats.output_tokens, fromTotal) };
}

/** The model's text after its last tool call: what it says it did. */
export function finalAssistantText(lines: readonly GeminiStreamLine[]): string {
  let text = '';
  for (const line of lines) {
    if (line.type === 'tool_use' || line.type === 'tool_result') text = '';
    else if (line.type === 'message' && line.role === 'assistant') text += line.content;
  }
  return text.trim();
}
