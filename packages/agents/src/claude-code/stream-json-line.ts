import { z } from 'zod';

/**
 * The lines of `claude -p --output-format stream-json --verbose` this adapter relies on (CLI 2.1.x).
 * Only the fields we read are declared; everything else passes through unchecked, so new fields in a newer
 * CLI do not break parsing. A line of an unknown `type` fails to parse and is skipped by the runner.
 */

const TextBlock = z.object({ type: z.literal('text'), text: z.string() });
const ToolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.record(z.string(), z.unknown()).catch({}),
});
const ToolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z.unknown().optional(),
  is_error: z.boolean().optional(),
});
/** Blocks we do not show (thinking, images, …) still parse, so one odd block does not drop a whole line. */
const OtherBlock = z.object({ type: z.string() });

export const ClaudeSystemLine = z.object({ type: z.literal('system'), subtype: z.string() });

const MessageUsage = z.object({
  input_tokens: z.number().nonnegative(),
  output_tokens: z.number().nonnegative(),
  cache_creation_input_tokens: z.number().nonnegative().nullish(),
  cache_read_input_tokens: z.number().nonnegative().nullish(),
});

export const ClaudeAssistantLine = z.object({
  type: z.literal('assistant'),
  message: z.object({
    /** One model response; its content blocks arrive as separate lines with the same id. */
    id: z.string().optional(),
    usage: MessageUsage.optional().catch(undefined),
    model: z.string().optional(),
    content: z.array(z.union([TextBlock, ToolUseBlock, OtherBlock])),
  }),
  /** Set on the synthetic message the CLI writes when an API call failed (`authentication_failed`, `unknown`, …). */
  error: z.string().optional(),
});

export const ClaudeUserLine = z.object({
  type: z.literal('user'),
  message: z.object({ content: z.union([z.string(), z.array(z.union([ToolResultBlock, OtherBlock]))]) }),
});

export const ClaudeResultLine = z.object({
  type: z.literal('result'),
  /** `success`, `error_max_turns`, `error_during_execution`, … ; API errors come as `success` with `is_error`. */
  subtype: z.string(),
  is_error: z.boolean(),
  result: z.string().optional(),
  api_error_status: z.number().nullish(),
  num_turns: z.number().optional(),
  total_cost_usd: z.number().nonnegative().optional(),
  usage: MessageUsage.optional(),
});

export const ClaudeStreamLine = z.discriminatedUnion('type', [
  ClaudeSystemLine,
  ClaudeAssistantLine,
  ClaudeUserLine,
  ClaudeResultLine,
]);
export type ClaudeStreamLine = z.infer<typeof ClaudeStreamLine>;
export type ClaudeResultLine = z.infer<typeof ClaudeResultLine>;
