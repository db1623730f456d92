import { z } from 'zod';

export const MAX_PROMPT_CHARS = 20_000;

/** Pipeline steps, in the order a job runs them. */
export const Step = z.enum(['create_sandbox', 'clone', 'run_agent', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox']);
export type Step = z.infer<typeof Step>;

// Git's own rules for a ref name, reduced to what a base branch needs: no spaces, no '..', no leading '-'.
const branchName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^(?![-/])(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._\/-]+(?<![./])$/, 'must be a valid git branch name');

// NUL and the other C0 controls have no place in a prompt, and a NUL can never reach an agent CLI (argv is
// NUL-terminated): the job would be queued only to fail in the sandbox. Tabs and newlines are prose.
const NO_CONTROLS_BUT_WHITESPACE = /^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$/;
// One line of text: shown in the pull request, where a newline would start a line of its own.
const ONE_LINE = /^[^\x00-\x1f\x7f]*$/;
// A model is an identifier handed to an agent CLI as `--model <name>`: no spaces, and no leading `-`.
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+[\]-]*$/;

/**
 * The body of `POST /api/jobs`. `repo_url` is checked for shape here; whether its host is the configured
 * GitHub is checked by `parseRepoUrl`, which needs the server's config.
 */
export const CodeJobRequest = z.strictObject({
  repo_url: z.string().min(1, 'is required').max(2048),
  prompt: z
    .string()
    .trim()
    .min(1, 'is required')
    .max(MAX_PROMPT_CHARS, `must be at most ${MAX_PROMPT_CHARS} characters`)
    .regex(NO_CONTROLS_BUT_WHITESPACE, 'must not contain control characters other than tabs and newlines'),
  agent: z.string().min(1).max(64).optional(),
  model: z.string().min(1).max(128).regex(MODEL_NAME, 'must be a model name (letters, digits and ._:/@+[]-, not starting with -)').optional(),
  base_branch: branchName.optional(),
  draft: z.boolean().optional(),
  /** Who asked, as the PR should name them (e.g. a GitHub handle). Free text, shown, never trusted. */
  requested_by: z.string().trim().min(1).max(100).regex(ONE_LINE, 'must be one line without control characters').optional(),
  /** Per-job budget; the worker's own limits apply too (the lower wins). */
  max_cost_usd: z.number().positive().max(10_000).optional(),
  max_tokens: z.number().int().positive().max(1_000_000_000).optional(),
});
export type CodeJobRequest = z.infer<typeof CodeJobRequest>;

/** What a job carries in the queue: the request after defaults are applied. Never a secret. */
export const CodeJobData = z.object({
  repo: z.object({ owner: z.string(), name: z.string(), url: z.string() }),
  prompt: z.string(),
  agent: z.string(),
  model: z.string().optional(),
  baseBranch: z.string().optional(),
  draft: z.boolean(),
  requestedAt: z.string(),
  requestedBy: z.string().optional(),
  /** The issue the job was asked for on (a GitHub trigger): its pull request says `Fixes #N`, closing it on merge. */
  fixesIssue: z.number().int().positive().optional(),
  /** The tenant that submitted the job (its owner); absent on jobs queued before tenants existed. */
  tenant: z.string().optional(),
  budget: z.object({ maxCostUsd: z.number().optional(), maxTokens: z.number().optional() }).optional(),
  /**
   * The W3C trace context of the API's `job.enqueue` span (`00-<trace id>-<span id>-<flags>`), so every attempt's
   * spans join the job's one trace. Absent when tracing is off, or on jobs queued before it existed.
   */
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
});
export type CodeJobData = z.infer<typeof CodeJobData>;

/** The original Tiny Backspace body (`POST /code`): `repoUrl` or `repo_url`, plus `prompt`. */
export const LegacyCodeRequest = z
  .object({
    repo_url: z.string().optional(),
    repoUrl: z.string().optional(),
    prompt: z.string(),
    agent: z.string().optional(),
  })
  .transform(({ repo_url, repoUrl, prompt, agent }) => ({
    repo_url: repo_url ?? repoUrl ?? '',
    prompt,
    ...(agent === undefined ? {} : { agent }),
  }))
  .pipe(CodeJobRequest);
