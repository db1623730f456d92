import { z } from 'zod';

/** Stable error codes, shared by the HTTP API, job status and events. Clients may switch on them. */
export const ErrorCode = z.enum([
  // request errors (HTTP 4xx)
  'invalid_request',
  'invalid_repo_url',
  'unknown_agent',
  'not_found',
  'conflict',
  'unauthorized',
  // a follow-up on a pull request that cannot take one: closed or merged (409), from a fork the service cannot
  // push to (422), or whose branch moved since the request pinned its head (409). Never retried.
  'pr_closed',
  'pr_from_fork',
  'pr_branch_moved',
  // a tenant's limits (HTTP 429): submits per minute, and jobs queued or running at once
  'rate_limited',
  'too_many_active_jobs',
  // the service cannot reach what it stands on (Redis) right now: retry after a moment (HTTP 503)
  'unavailable',
  // job errors
  'repo_not_found',
  'repo_access_denied',
  'branch_not_found',
  'clone_failed',
  'sandbox_unavailable',
  'sandbox_failed',
  'agent_failed',
  'agent_timeout',
  'agent_max_turns',
  'budget_exceeded',
  'git_host_failed',
  'job_timeout',
  'worker_lost',
  'cancelled',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  error: z.object({ code: ErrorCode, message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
