import type { NewJobEvent, ToolInputView } from '@tinyb/contracts';
import { repoRelativePath } from '../repo-relative-path.js';
import { truncateText } from '../truncate-text.js';

/** The same bounds as the Claude Code mapping, so every agent's events look alike in a client. */
export const TOOL_INPUT_MAX_CHARS = 300;
export const TOOL_OUTPUT_MAX_CHARS = 2000;
export const MESSAGE_MAX_CHARS = 4000;

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
  return { type: 'agent.tool_call', tool: call.name, callId: call.id, input: toolInputView(call.args, workdir) };
}

export function toolResultEvent(call: { id: string; name: string }, result: { ok: boolean; output: string }): NewJobEvent {
  return { type: 'agent.tool_result', tool: call.name, callId: call.id, ok: result.ok, output: truncateText(result.output, TOOL_OUTPUT_MAX_CHARS) };
}

/** A short view of the built-in tools' arguments; file contents (`content`) are left out on purpose. */
export function toolInputView(args: unknown, workdir: string): ToolInputView {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return {};
  const input = args as Record<string, unknown>;
  const pick = (key: string) => (typeof input[key] === 'string' ? truncateText(input[key], TOOL_INPUT_MAX_CHARS) : undefined);
  const view: ToolInputView = {};
  const path = pick('path');
  const command = pick('command');
  const pattern = pick('pattern');
  const oldText = pick('old_text');
  const newText = pick('new_text');
  if (path !== undefined) view.path = repoRelativePath(path.replace(/^\.\/(?=.)/, ''), workdir);
  if (command !== undefined) view.command = command;
  if (pattern !== undefined) view.pattern = pattern;
  if (oldText !== undefined) view.oldText = oldText;
  if (newText !== undefined) view.newText = newText;
  return view;
}
