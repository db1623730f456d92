import { z } from 'zod';

/**
 * The lines of `codex exec --json` this adapter relies on (CLI 0.171.x). Only the fields we read are declared;
 * everything else passes through unchecked. A line of an unknown `type`, or an item of an unknown `type`
 * (reasoning, todo lists, …), fails to parse and is skipped by the runner.
 */

export const CodexCommandItem = z.object({
  id: z.string(),
  type: z.literal('command_execution'),
  /** The shell line as run: `/bin/bash -lc '…'`. */
  command: z.string(),
  aggregated_output: z.string().catch(''),
  exit_code: z.number().nullable().catch(null),
  /** `in_progress`, `completed` or `failed` (a non-zero exit), `declined`. */
  status: z.string(),
});

export const CodexFileChangeItem = z.object({
  id: z.string(),
  type: z.literal('file_change'),
  /** Absolute paths; `kind` is `add`, `update` or `delete`. */
  changes: z.array(z.object({ path: z.string(), kind: z.string() })),
  status: z.string(),
});

export const CodexMessageItem = z.object({ id: z.string(), type: z.literal('agent_message'), text: z.string() });

export const CodexMcpToolCallItem = z.object({
  id: z.string(),
  type: z.literal('mcp_tool_call'),
  server: z.string(),
  tool: z.string(),
  arguments: z.unknown().optional(),
  status: z.string(),
  error: z.object({ message: z.string() }).nullish(),
});

export const CodexWebSearchItem = z.object({ id: z.string(), type: z.literal('web_search'), query: z.string() });

export const CodexItem = z.discriminatedUnion('type', [CodexCommandItem, CodexFileChangeItem, CodexMessageItem, CodexMcpToolCallItem, CodexWebSearchItem]);
export type CodexItem = z.infer<typeof CodexItem>;

const TokenCount = z.number().nonnegative();

/** Cumulative for the thread: every model call of the run. `cached_input_tokens` is part of `input_tokens`. */
export const CodexUsage = z.object({
  input_tokens: TokenCount,
  cached_input_tokens: TokenCount.optional(),
  output_tokens: TokenCount,
  reasoning_output_tokens: TokenCount.optional(),
});
export type CodexUsage = z.infer<typeof CodexUsage>;

export const CodexEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('thread.started'), thread_id: z.string() }),
  z.object({ type: z.literal('turn.started') }),
  z.object({ type: z.literal('item.started'), item: CodexItem }),
  z.object({ type: z.literal('item.updated'), item: CodexItem }),
  z.object({ type: z.literal('item.completed'), item: CodexItem }),
  z.object({ type: z.literal('turn.completed'), usage: CodexUsage }),
  /** Fatal: the CLI exits with 1 after it. */
  z.object({ type: z.literal('turn.failed'), error: z.object({ message: z.string() }) }),
  /** Not fatal by itself (`Reconnecting... 1/5 (…)`); a fatal one is followed by turn.failed. */
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type CodexEvent = z.infer<typeof CodexEvent>;
