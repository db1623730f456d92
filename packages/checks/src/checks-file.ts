import { CheckCommands } from '@tinyb/contracts';
import { parse } from 'yaml';

/** The repository's own list of checks, at its top level. `.tinyb.yml` wins over `.tinyb.yaml`. */
export const CHECKS_FILE_NAMES = ['.tinyb.yml', '.tinyb.yaml'] as const;

export type ChecksFileContent = { checks: string[] } | { checks?: undefined } | { problem: string };

/**
 * Reads `.tinyb.yml`: `checks:` a list of command lines (at most 10, one line each). A file without `checks`
 * leaves the choice to detection; a file that is not YAML, or whose `checks` break the rules, is a problem
 * the job reports (never silently replaced by detection, which would run commands the repository did not ask for).
 */
export function parseChecksFile(text: string): ChecksFileContent {
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 10 });
  } catch (err) {
    return { problem: `not valid YAML: ${err instanceof Error ? err.message.split('\n', 1)[0] : String(err)}` };
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) return { problem: 'must be a mapping with a `checks:` list' };
  // Other keys are left for later settings; `checks` is the only one read here.
  const listed: unknown = (value as Record<string, unknown>).checks;
  if (listed === undefined || listed === null) return {};
  const parsed = CheckCommands.safeParse(listed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { problem: `checks${issue?.path.length ? `[${issue.path.join('.')}]` : ''}: ${issue?.message ?? 'invalid'}` };
  }
  return { checks: parsed.data };
}
