import { z } from 'zod';
import { CheckCommands } from './checks.js';

export const MAX_PROMPT_CHARS = 20_000;

/**
 * Pipeline steps, in the order a job runs them. `run_checks` and `fix_checks` (the agent's turn to fix failed
 * checks) alternate after `run_agent` until the checks pass or the fix rounds are spent.
 */
export const Step = z.enum(['create_sandbox', 'clone', 'run_agent', 'run_checks', 'fix_checks', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox']);
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
// The shape of the job ids the API hands out (and accepts in paths).
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * The body of `POST /api/jobs`. `repo_url` is checked for shape here; whether its host is the configured
 * GitHub is checked by `parseRepoUrl`, which needs the server's config. A follow-up on an existing pull
 * request names it with `pr_url` or `parent_job_id` (the job whose pull request to continue), instead of or
 * beside `repo_url`; when several are given they must agree.
 */
export const CodeJobRequest = z.strictObject({
  repo_url: z.string().min(1, 'is required').max(2048).optional(),
  /** `<GITHUB_URL>/<owner>/<repo>/pull/<n>`: the job adds a commit to that pull request's branch. */
  pr_url: z.string().min(1, 'must not be empty').max(2048).optional(),
  /** A job of the same tenant whose pull request this job continues. */
  parent_job_id: z.string().regex(JOB_ID, 'must be a job id').optional(),
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
  /** The checks to run before the pull request (e.g. `["npm test"]`), instead of the repository's `.tinyb.yml` or detection; `[]` runs none. */
  checks: CheckCommands.optional(),
}).superRefine((body, ctx) => {
  if (body.repo_url === undefined && body.pr_url === undefined && body.parent_job_id === undefined) {
    ctx.addIssue({ code: 'custom', path: ['repo_url'], message: 'is required (or pr_url, or parent_job_id for a follow-up)' });
  }
  if (body.base_branch !== undefined && (body.pr_url !== undefined || body.parent_job_id !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['base_branch'], message: 'cannot be set on a follow-up: the pull request has its base' });
  }
});
export type CodeJobRequest = z.infer<typeof CodeJobRequest>;

/**
 * The pull request a follow-up job continues: it checks out the PR's head branch and adds one commit to it.
 * This is also the shape a trigger (a `/tinyb` comment on a PR) fills in to queue a follow-up.
 */
export const FollowUpTarget = z.object({
  number: z.number().int().positive(),
  /** Canonical URL of the pull request. */
  url: z.string(),
  /**
   * The head commit the requester saw (pinned by the API's pre-flight, or by a trigger from its webhook): the job
   * fails `pr_branch_moved` if the branch is anywhere else when it starts or commits. Absent: pinned by the
   * attempt when it checks the branch out.
   */
  headSha: z.string().regex(/^[0-9a-f]{40}$/).optional(),
  /** The job whose pull request this continues, when the request named one. */
  parentJobId: z.string().optional(),
});
export type FollowUpTarget = z.infer<typeof FollowUpTarget>;

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
  /** The request's own checks (see CodeJobRequest.checks); absent: the repository's. */
  checks: z.array(z.string()).optional(),
  /** Set on a follow-up: the job commits to this pull request's branch instead of opening a new one. */
  followUp: FollowUpTarget.optional(),
  /**
   * The W3C trace context of the API's `job.enqueue` span (`00-<trace id>-<span id>-<flags>`), so every attempt's
   * spans join the job's one trace. Absent when tracing is off, or on jobs queued before it existed.
   */
  traceparent: z.string().regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/).optional(),
});
export type CodeJobData = z.infer<typeof CodeJobData>;

/**
 * The original Tiny Backspace body (`POST /code`): `repoUrl` or `repo_url`, plus `prompt`; `prUrl` (or
 * `pr_url`) for a follow-up on a pull request; `checks` as on `POST /api/jobs`.
 */
export const LegacyCodeRequest = z
  .object({
    repo_url: z.string().optional(),
    repoUrl: z.string().optional(),
    pr_url: z.string().optional(),
    prUrl: z.string().optional(),
    prompt: z.string(),
    agent: z.string().optional(),
    /** Validated by CodeJobRequest (`checks`), like the rest. */
    checks: z.unknown().optional(),
  })
  .transform(({ repo_url, repoUrl, pr_url, prUrl, prompt, agent, checks }) => {
    const pr = pr_url ?? prUrl;
    const repo = repo_url ?? repoUrl;
    return {
      // Without a pull request, a missing repository reads as an empty one, which is refused as "is required".
      ...(repo === undefined && pr === undefined ? { repo_url: '' } : repo === undefined ? {} : { repo_url: repo }),
      ...(pr === undefined ? {} : { pr_url: pr }),
      prompt,
      ...(agent === undefined ? {} : { agent }),
      ...(checks === undefined ? {} : { checks }),
    };
  })
  .pipe(CodeJobRequest);
