import { z } from 'zod';

/**
 * The lines of `gemini -p … -o stream-json` this adapter relies on (CLI 0.61.x, enum `JsonStreamEventType`).
 * Only the fields we read are declared; everything else passes through unchecked, so new fields in a newer
 * CLI do not break parsing. A line of an unknown `type` fails to parse and is skipped by the runner.
 */

export const GeminiInitLine = z.object({ type: z.literal('init'), session_id: z.string().optional(), model: z.string().optional() });

/** The user's prompt once, then the model's text as `delta: true` pieces, several per turn. */
export const GeminiMessageLine = z.object({
  type: z.literal('message'),
  role: z.string(),
  content: z.string(),
  delta: z.boolean().optional(),
});

export const GeminiToolUseLine = z.object({
  type: z.literal('tool_use'),
  tool_name: z.string(),
  tool_id: z.string(),
  parameters: z.record(z.string(), z.unknown()).catch({}),
});

export const GeminiToolResultLine = z.object({
  type: z.literal('tool_result'),
  tool_id: z.string(),
  /** `success` or `error`. */
  status: z.string(),
  output: z.string().optional(),
  error: z.object({ type: z.string().optional(), message: z.string() }).optional(),
});

/** Non-fatal trouble the CLI reports and carries on from (loop detected, invalid stream, …). */
export const GeminiErrorLine = z.object({ type: z.literal('error'), severity: z.string(), message: z.string() });

const TokenCount = z.number().nonnegative();

export const GeminiStats = z.object({
  total_tokens: TokenCount.optional(),
  /** Prompt tokens, cached ones included. */
  input_tokens: TokenCount,
  /** Candidate tokens: the model's answers, without its thoughts. */
  output_tokens: TokenCount,
  cached: TokenCount.optional(),
  duration_ms: z.number().optional(),
  tool_calls: z.number().optional(),
});

export const GeminiResultLine = z.object({
  type: z.literal('result'),
  /** `success` or `error`; an error also sets the exit code (see geminiExitError). */
  status: z.string(),
  error: z.object({ type: z.string(), message: z.string() }).optional(),
  stats: GeminiStats.optional(),
});

export const GeminiStreamLine = z.discriminatedUnion('type', [
  GeminiInitLine,
  GeminiMessageLine,
  GeminiToolUseLine,
  GeminiToolResultLine,
  GeminiErrorLine,
  GeminiResultLine,
]);
export type GeminiStreamLine = z.infer<typeof GeminiStreamLine>;
export type GeminiResultLine = z.infer<typeof GeminiResultLine>;
export type GeminiStats = z.infer<typeof GeminiStats>;
