import type { ToolInputView } from '@tinyb/contracts';
import { repoRelativePath } from './repo-relative-path.js';
import { truncateText } from './truncate-text.js';

/** One set of bounds for every agent's events, so they look alike in a client whichever agent ran. */
export const TOOL_INPUT_MAX_CHARS = 300;
export const TOOL_OUTPUT_MAX_CHARS = 2000;
export const MESSAGE_MAX_CHARS = 4000;

/** Which argument names a CLI uses for each field of the view, first match wins. */
export interface ToolInputFields {
  path: readonly string[];
  command: readonly string[];
  pattern: readonly string[];
  oldText: readonly string[];
  newText: readonly string[];
}

/**
 * A short view of a tool call's arguments: the path (relative to the checkout), command, pattern and the
 * old/new text of an edit, each truncated. File contents are never part of it.
 */
export function toolInputView(args: unknown, fields: ToolInputFields, workdir?: string): ToolInputView {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return {};
  const input: Record<string, unknown> = { ...args };
  const pick = (keys: readonly string[]) => {
    for (const key of keys) {
      const value = input[key];
      if (typeof value === 'string') return truncateText(value, TOOL_INPUT_MAX_CHARS);
    }
    return undefined;
  };
  const view: ToolInputView = {};
  const path = pick(fields.path);
  const command = pick(fields.command);
  const pattern = pick(fields.pattern);
  const oldText = pick(fields.oldText);
  const newText = pick(fields.newText);
  if (path !== undefined) view.path = repoRelativePath(path.replace(/^\.\/(?=.)/, ''), workdir);
  if (command !== undefined) view.command = command;
  if (pattern !== undefined) view.pattern = pattern;
  if (oldText !== undefined) view.oldText = oldText;
  if (newText !== undefined) view.newText = newText;
  return view;
}
