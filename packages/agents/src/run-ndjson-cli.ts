import type { ExecOptions, ExecResult, Logger, Sandbox } from '@tinyb/core';
import type { NewJobEvent } from '@tinyb/contracts';
import type { z } from 'zod';
import { NdjsonLines } from './ndjson-lines.js';
import { truncateText } from './truncate-text.js';

export interface RunNdjsonCliInput<L> {
  sandbox: Sandbox;
  argv: string[];
  exec: Omit<ExecOptions, 'onOutput'>;
  /** The CLI's line vocabulary: lines it does not match are logged at debug and skipped. */
  lineSchema: z.ZodType<L>;
  /** Maps one parsed line to the events it stands for; called in line order. */
  toEvents(line: L): NewJobEvent[];
  emit(event: NewJobEvent): Promise<void>;
  /** Runs after the line's events are emitted, in the same order (e.g. to report token usage). */
  onLine?(line: L): Promise<void>;
  logger: Logger;
}

export interface RunNdjsonCliResult<L> {
  exec: ExecResult;
  /** Every stdout line that matched the schema, in order. */
  lines: L[];
}

/**
 * Runs a CLI that prints NDJSON on stdout and emits events for its lines *while it runs*. Output arrives in
 * chunks from a callback that cannot wait, so the emits are chained on one promise: events keep their order
 * and each is durably recorded before the next one is sent. Resolves after the command has ended and every
 * event has been emitted; a failed emit is rethrown then (the command is not killed for it).
 */
export async function runNdjsonCli<L>(input: RunNdjsonCliInput<L>): Promise<RunNdjsonCliResult<L>> {
  const lines: L[] = [];
  let chain: Promise<void> = Promise.resolve();
  let emitError: unknown;

  const splitter = new NdjsonLines((raw) => {
    const line = parseLine(raw, input.lineSchema, input.logger);
    if (line === undefined) return;
    lines.push(line);
    let events: NewJobEvent[];
    try {
      events = input.toEvents(line);
    } catch (err) {
      // A mapping bug must not take the run down with it: the outcome comes from the lines, not the events.
      input.logger.warn({ err }, 'agent output line could not be mapped to events');
      return;
    }
    const steps: (() => Promise<void>)[] = events.map((event) => () => input.emit(event));
    if (input.onLine) steps.push(() => input.onLine!(line));
    for (const step of steps) {
      chain = chain.then(async () => {
        if (emitError !== undefined) return;
        try {
          await step();
        } catch (err) {
          emitError = err;
        }
      });
    }
  });

  let streamed = false;
  let exec: ExecResult;
  try {
    exec = await input.sandbox.exec(input.argv, {
      ...input.exec,
      onOutput: (chunk) => {
        if (chunk.stream !== 'stdout') return;
        streamed = true;
        splitter.push(chunk.data);
      },
    });
    // A provider that only hands back captured output still gets its lines parsed, just not live.
    if (!streamed) splitter.push(exec.stdout);
  } finally {
    splitter.end();
    await chain;
  }
  if (emitError !== undefined) throw emitError;
  return { exec, lines };
}

function parseLine<L>(raw: string, schema: z.ZodType<L>, logger: Logger): L | undefined {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    logger.debug({ line: truncateText(raw, 500) }, 'agent output line is not JSON');
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    logger.debug({ line: truncateText(raw, 500), issues: parsed.error.issues.slice(0, 3) }, 'agent output line skipped');
    return undefined;
  }
  return parsed.data;
}
