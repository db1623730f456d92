import type { JobEvent, JobStatus } from '@tinyb/contracts';

/**
 * How one event changes a job's status: a patch of top-level fields, computed from the event alone.
 * Because no patch needs the previous status, a store can apply it atomically with the event's append
 * (no read-modify-write), and the status can never disagree with the event log.
 */
export function statusPatchFor(event: JobEvent): Partial<JobStatus> {
  switch (event.type) {
    case 'job.queued':
      return {
        id: event.jobId,
        state: 'queued',
        step: null,
        attempt: 0,
        repoUrl: event.repoUrl,
        agent: event.agent,
        createdAt: event.at,
        startedAt: null,
        finishedAt: null,
        cancelRequested: false,
        result: null,
        error: null,
        usage: null,
        tenant: event.tenant ?? null,
        traceId: event.traceId ?? null,
      };
    case 'job.started':
      return { state: 'running', attempt: event.attempt, startedAt: event.at, step: null, error: null };
    case 'job.recovered':
      // The lost attempt's step is over; the error says why until the new attempt's job.started clears it.
      return {
        state: 'running',
        step: null,
        error: { code: 'worker_lost', message: `attempt ${event.attempt} lost its worker; another worker took the job over` },
      };
    case 'job.cancel_requested':
      return { cancelRequested: true };
    case 'job.retrying':
      return { state: 'queued', error: event.error };
    case 'step.started':
      return { step: event.step };
    case 'job.succeeded':
      return {
        state: 'succeeded',
        step: null,
        result: event.result,
        finishedAt: event.at,
        ...(event.result.usage ? { usage: event.result.usage } : {}),
      };
    case 'job.failed':
      return { state: 'failed', error: event.error, finishedAt: event.at, ...(event.usage ? { usage: event.usage } : {}) };
    case 'job.cancelled':
      return { state: 'cancelled', finishedAt: event.at, ...(event.usage ? { usage: event.usage } : {}) };
    case 'agent.usage':
      return { usage: { inputTokens: event.inputTokens, outputTokens: event.outputTokens, ...(event.costUsd === undefined ? {} : { costUsd: event.costUsd }) } };
    case 'step.completed':
    case 'step.failed':
    case 'agent.message':
    case 'agent.tool_call':
    case 'agent.tool_result':
    case 'checks.started':
    case 'check.completed':
    case 'git.committed':
    case 'pr.created':
      return {};
  }
}
