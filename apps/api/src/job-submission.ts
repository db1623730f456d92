import type { ServerResponse } from 'node:http';
import type { Principal } from '@tinyb/auth';
import type { CodeJobRequest, JobStatus } from '@tinyb/contracts';
import {
  AppError,
  RateLimitedError,
  type ActiveJobSlots,
  type JobEventPublisher,
  type JobQueue,
  type Logger,
  type RateLimitDecision,
  type SubmitRateLimiter,
} from '@tinyb/core';
import type { ApiMetrics, JobTraceContext, Tracing } from '@tinyb/runtime';
import { rateLimitHeaders, setHeaders } from './http-errors.js';
import { resolveFollowUp } from './follow-up-request.js';
import type { PullRequestPreflight } from './github-pull-request-preflight.js';
import { toJobData, type JobDefaults } from './to-job-data.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface JobSubmissionDeps {
  jobDefaults: JobDefaults;
  queue: JobQueue;
  events: JobEventPublisher & ActiveJobSlots;
  rateLimiter?: SubmitRateLimiter | undefined;
  /** Jobs a tenant may have queued or running at once; 0: no cap. */
  maxActiveJobsPerTenant: number;
  tracing?: Pick<Tracing, 'enqueue'> | undefined;
  pullRequestPreflight?: PullRequestPreflight | undefined;
  metrics: Pick<ApiMetrics, 'jobSubmitted'>;
  logger: Logger;
  /** The job's status if this principal may see it (a follow-up names its parent). */
  statusVisibleTo(principal: Principal, jobId: string): Promise<JobStatus | null>;
}

export interface SubmitInput {
  principal: Principal;
  body: CodeJobRequest;
  /** The request's `Idempotency-Key` header, unchecked. */
  idempotencyKey: string | undefined;
  /** Receives the rate-limit headers of a counted submit. */
  res: ServerResponse;
}

/**
 * Submitting a job, whatever the route (`POST /api/jobs` through Express or its fast path, the legacy
 * `POST /code`): admission, idempotency, the job data, and the enqueue with `job.queued` in one Redis script
 * (on a single Redis; a cluster splits it, see CodeJobQueue). Callers have authenticated the principal and
 * validated the body.
 */
export interface JobSubmission {
  submit(input: SubmitInput): Promise<{ jobId: string; created: boolean }>;
  /** `POST /api/jobs`: submits, logs a new job, and answers 202 (200 with Idempotent-Replayed for a replay). */
  accept(input: SubmitInput): Promise<void>;
}

export function createJobSubmission(deps: JobSubmissionDeps): JobSubmission {
  const { queue, events, jobDefaults, metrics, logger } = deps;
  const maxActive = deps.maxActiveJobsPerTenant;

  /**
   * A new job's admission, run only once the job is known to be new (an idempotent replay never gets
   * here, so it is never refused): the tenant's submit rate, then a slot among its active jobs.
   * Returns whether a slot was claimed, and the rate decision for the response headers.
   */
  const admit = async (principal: Principal, jobId: string) => {
    if (principal.admin) return { claimed: false, decision: undefined };
    const decision = await deps.rateLimiter?.consume(principal.tenant);
    if (decision && !decision.allowed) throw new RateLimitedError(decision);
    if (maxActive > 0 && !(await events.claimActiveSlot(principal.tenant, jobId, maxActive))) {
      throw new AppError(
        'too_many_active_jobs',
        `tenant ${principal.tenant} already has ${maxActive} jobs queued or running; wait for one to finish or cancel one`,
      );
    }
    return { claimed: maxActive > 0, decision };
  };

  const submitTraced = async (input: SubmitInput, trace: JobTraceContext | undefined) => {
    const { principal, body, idempotencyKey, res } = input;
    // Most submits are not follow-ups: no timer, no lookups for them.
    const isFollowUp = body.pr_url !== undefined || body.parent_job_id !== undefined;
    const followUp = !isFollowUp ? undefined : await resolveFollowUp(body, {
      githubUrl: jobDefaults.githubUrl,
      visibleStatus: (id) => deps.statusVisibleTo(principal, id),
      ...(deps.pullRequestPreflight ? { preflight: deps.pullRequestPreflight } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const data = { ...toJobData(body, jobDefaults, followUp), tenant: principal.tenant, ...(trace ? { traceparent: trace.traceparent } : {}) };
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError('invalid_request', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    let claimedSlot: { jobId: string } | undefined;
    let decision: RateLimitDecision | undefined;
    // Admission only for those it can refuse: an admin's (or an open API's) submit is one Redis round trip.
    const admitted = !principal.admin && (deps.rateLimiter !== undefined || maxActive > 0);
    try {
      const enqueued = await queue.enqueue(data, {
        // Scoped to the tenant: one tenant's key can neither replay nor reveal another tenant's job.
        ...(idempotencyKey === undefined ? {} : { idempotencyKey: `${principal.tenant}:${idempotencyKey}` }),
        // Recorded with the job, atomically: never a queued job without it, nor it without the job.
        announce: {
          via: events,
          event: {
            type: 'job.queued',
            repoUrl: data.repo.url,
            agent: data.agent,
            draft: data.draft,
            tenant: principal.tenant,
            ...(data.baseBranch === undefined ? {} : { baseBranch: data.baseBranch }),
            ...(trace ? { traceId: trace.traceId } : {}),
          },
        },
        ...(admitted
          ? {
              beforeAdd: async (jobId: string) => {
                const admission = await admit(principal, jobId);
                decision = admission.decision;
                if (admission.claimed) claimedSlot = { jobId };
              },
            }
          : {}),
      });
      if (decision) setHeaders(res, rateLimitHeaders(decision));
      if (enqueued.created) metrics.jobSubmitted(data.agent);
      return enqueued;
    } catch (err) {
      // Neither queued nor announced (enqueue is all or nothing): a slot claimed for it is given back.
      if (claimedSlot !== undefined) await events.releaseActiveSlot(principal.tenant, claimedSlot.jobId).catch(() => undefined);
      throw err;
    }
  };

  const submit = (input: SubmitInput) =>
    deps.tracing
      ? deps.tracing.enqueue({ 'tinyb.tenant': input.principal.tenant }, (trace) => submitTraced(input, trace))
      : submitTraced(input, undefined);

  const accept = async (input: SubmitInput) => {
    const { jobId, created } = await submit(input);
    if (created) logger.info({ jobId, agent: input.body.agent ?? jobDefaults.defaultAgent, tenant: input.principal.tenant }, 'job queued');
    // Written directly: res.json would also hash the body for an ETag nobody revalidates a POST with.
    const payload = JSON.stringify({ id: jobId, status: 'queued', links: jobLinks(jobId) });
    const { res } = input;
    res.statusCode = created ? 202 : 200;
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Location', `/api/jobs/${jobId}`);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(payload));
    res.end(payload);
  };

  return { submit, accept };
}

export function jobLinks(id: string) {
  return { self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events` };
}
