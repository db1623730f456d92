import { z } from 'zod';
import { JobError, JobResult, Usage } from './job-event.js';
import { Step } from './job-request.js';

export const JobState = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export type JobState = z.infer<typeof JobState>;

/** What `GET /api/jobs/:id` answers: a snapshot for polling clients. */
export const JobStatus = z.object({
  id: z.string(),
  state: JobState,
  step: Step.nullable(),
  attempt: z.number().int().nonnegative(),
  repoUrl: z.string(),
  agent: z.string(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  cancelRequested: z.boolean(),
  result: JobResult.nullable(),
  error: JobError.nullable(),
  /** Tokens and cost of all attempts so far; null until the agent reports any. */
  usage: Usage.nullable(),
  /** The tenant that owns the job; null for a job queued before tenants existed (only admins see those). */
  tenant: z.string().nullable().default(null),
  /** The job's OpenTelemetry trace id, to look it up in the tracing backend; null when tracing was off. */
  traceId: z.string().nullable().default(null),
});
export type JobStatus = z.infer<typeof JobStatus>;

/**
 * An agent with the live workers offering it. `GET /api/agents` lists every agent the deployment knows, with
 * 0 workers too: a job for it is accepted and waits in the agent's queue until a worker that has it starts.
 */
export const OfferedAgent = z.object({
  name: z.string(),
  /** Live workers offering it (0: its jobs wait). */
  workers: z.number().int().nonnegative(),
  defaultModels: z.array(z.string()),
});
export type OfferedAgent = z.infer<typeof OfferedAgent>;

/** One entry of `GET /api/jobs`: enough to pick a job out of a list; the full status is one GET away. */
export const JobSummary = z.object({
  id: z.string(),
  state: JobState,
  agent: z.string(),
  repoUrl: z.string(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  prUrl: z.string().nullable(),
  tenant: z.string().nullable(),
});
export type JobSummary = z.infer<typeof JobSummary>;

/** `GET /api/jobs`: newest first; `next_cursor` is opaque, null on the last page. */
export const JobList = z.object({
  jobs: z.array(JobSummary),
  next_cursor: z.string().nullable(),
});
export type JobList = z.infer<typeof JobList>;

export const MAX_JOB_LIST_LIMIT = 100;
export const DEFAULT_JOB_LIST_LIMIT = 20;
