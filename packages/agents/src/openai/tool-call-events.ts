import type { NewJobEvent, ToolInputView } from '@tinyb/contracts';
import {
  MESSAGE_MAX_CHARS,
  TOOL_OUTPUT_MAX_CHARS,
  toolInputView,
  type ToolInputFields,
} from '../tool-input-view.js';
import { truncateText } from '../truncate-text.js';


/** `agent.message` for an assistant's text, or nothing for a turn that only called tools. */
export function messageEvents(text: string): NewJobEvent[] {
  return text.trim() === '' ? [] : [{ type: 'agent.message', text: truncateText(text, MESSAGE_MAX_CHARS) }];
}

/**
 * `agent.tool_call` before a tool runs. `tool` is the name the model used, even for a tool that does not
 * exist, so a client sees what the model tried. `args` are the parsed arguments, or undefined when they were
 * not valid JSON.
 */
export function toolCallEvent(call: { id: string; name: string; args: unknown }, workdir: string): NewJobEvent {
  return { type: 'agent.tool_call', tool: call.name, callId: call.id, input: openAiToolInputView(call.args, workdir) };
}

export function toolResultEvent(call: { id: string; name: string }, result: { ok: boolean; output: string }): NewJobEvent {
  return { type: 'agent.tool_result', tool: call.name, callId: call.id, ok: result.ok, output: truncateText(result.output, TOOL_OUTPUT_MAX_CHARS) };
}

const FIELDS: ToolInputFields = {
  path: ['path'],
  command: ['command'],
  pattern: ['pattern'],
  oldText: ['old_text'],
  newText: ['new_text'],
};

/** A short view of the built-in tools' arguments (see toolInputView); file contents are left out on purpose. */
export function openAiToolInputView(args: unknown, workdir: string): ToolInputView {
  return toolInputView(args, FIELDS, workdir);
}
