import { AppError } from '@tinyb/core';
import type { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Parses the process environment once, at start. A missing or invalid variable becomes one line that
 * names it, so an operator sees exactly what to fix.
 */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  // `NAME=` (as .env.example writes unset settings) means "not set", not "zero" or "empty string".
  const set = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ''));
  const parsed = schema.safeParse(set);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    if (issue.code === 'invalid_type' && set[variable] === undefined) return `${variable} is required but not set`;
    return `${variable}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}

/**
 * Runs an app's `main`. A configuration or environment problem (ConfigError, or an AppError such as a
 * missing sandbox tool) ends the process with one line and exit code 78 (EX_CONFIG); anything else is a bug
 * and gets its stack.
 */
export function runMain(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof AppError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(78);
    }
    process.stderr.write(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
