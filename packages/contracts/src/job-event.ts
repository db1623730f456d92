import { z } from 'zod';
import { CheckResult, CheckSource } from './checks.js';
import { ErrorCode } from './errors.js';
import { Step } from './job-request.js';

const base = { jobId: z.string(), at: z.string() };
const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...base, ...shape });

export const JobError = z.object({ code: ErrorCode, message: z.string(), step: Step.optional() });
export type JobError = z.infer<typeof JobError>;

export const FileChange = z.object({
  path: z.string(),
  change: z.enum(['added', 'modified', 'deleted']),
});
export type FileChange = z.infer<typeof FileChange>;

export const PullRequestRef = z.object({ url: z.string(), number: z.number().int(), branch: z.string() });
export type PullRequestRef = z.infer<typeof PullRequestRef>;

export const Usage = z.object({
  inputTokens: z.number().nonnegative(),
  outputTokens: z.number().nonnegative(),
  costUsd: z.number().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const JobResult = z.object({
  /** `pr_updated`: a follow-up added its commit to an existing pull request (see CodeJobData.followUp). */
  outcome: z.enum(['pr_opened', 'pr_updated', 'no_changes']),
  pr: PullRequestRef.optional(),
  filesChanged: z.array(FileChange),
  summary: z.string(),
  usage: Usage.optional(),
  /**
   * The repository's checks as they last ran (after the last fix round). A pull request whose checks fail is
   * still opened, as a draft that says so: the job succeeded, its checks did not.
   */
  checks: z.array(CheckResult).optional(),
});
export type JobResult = z.infer<typeof JobResult>;

/** A short, bounded view of what a tool was asked to do: enough to follow along, never a whole file. */
export const ToolInputView = z.object({
  path: z.string().optional(),
  command: z.string().optional(),
  oldText: z.string().optional(),
  newText: z.string().optional(),
  pattern: z.string().optional(),
});
export type ToolInputView = z.infer<typeof ToolInputView>;

/**
 * Every progress event of a job, in the order it happened. Types are `<subject>.<past-tense verb>`.
 * `job.succeeded`, `job.failed` and `job.cancelled` are terminal: nothing follows them.
 */
export const JobEvent = z.discriminatedUnion('type', [
  event('job.queued', {
    repoUrl: z.string(),
    agent: z.string(),
    baseBranch: z.string().optional(),
    draft: z.boolean(),
    /** The job's owner (see CodeJobData.tenant). */
    tenant: z.string().optional(),
    /** The OpenTelemetry trace every span of this job belongs to (32 hex digits); absent when tracing is off. */
    traceId: z.string().optional(),
  }),
  event('job.started', { attempt: z.number().int().positive(), workerId: z.string() }),
  /**
   * The worker that ran `attempt` stopped renewing its hold on the job (it crashed, was killed, or lost Redis),
   * and this job was taken over: published by the worker that picked it up, just before its `job.started`.
   * The lost attempt's work is gone; the next attempt starts over (same branch, same pull request).
   */
  event('job.recovered', { attempt: z.number().int().positive(), previousWorkerId: z.string().optional(), reason: z.literal('worker_lost') }),
  event('job.cancel_requested', {}),
  event('job.retrying', { attempt: z.number().int().positive(), error: JobError, delayMs: z.number().nonnegative() }),
  event('step.started', { step: Step }),
  event('step.completed', { step: Step, durationMs: z.number().nonnegative(), detail: z.string().optional() }),
  event('step.failed', { step: Step, durationMs: z.number().nonnegative(), error: JobError }),
  event('agent.message', { text: z.string() }),
  event('agent.tool_call', { tool: z.string(), callId: z.string().optional(), input: ToolInputView }),
  event('agent.tool_result', {
    tool: z.string().optional(),
    callId: z.string().optional(),
    ok: z.boolean(),
    output: z.string(),
  }),
  /** The job's running totals (all attempts so far), sent whenever they change. */
  event('agent.usage', Usage.shape),
  /** A run of the checks begins: `round` 0 after the agent's work, n after its n-th fix round. */
  event('checks.started', { commands: z.array(z.string()), source: CheckSource, round: z.number().int().nonnegative() }),
  /** One check ended; `outputTail` is the end of its output (stdout and stderr interleaved), a few KB at most. */
  event('check.completed', {
    command: z.string(),
    exitCode: z.number().int().nullable(),
    durationMs: z.number().nonnegative(),
    passed: z.boolean(),
    timedOut: z.boolean(),
    outputTail: z.string(),
    round: z.number().int().nonnegative(),
  }),
  event('git.committed', { sha: z.string(), branch: z.string(), filesChanged: z.array(FileChange) }),
  /**
   * The job's pull request is ready: opened, or `reused` (a retry found the one its earlier attempt opened, or a
   * follow-up, marked `followUp`, added its commit to the pull request it was asked to continue).
   */
  event('pr.created', { ...PullRequestRef.shape, reused: z.boolean(), followUp: z.boolean().optional() }),
  event('job.succeeded', { result: JobResult }),
  event('job.failed', { error: JobError, usage: Usage.optional() }),
  event('job.cancelled', { step: Step.optional(), usage: Usage.optional() }),
]);
export type JobEvent = z.infer<typeof JobEvent>;
export type JobEventType = JobEvent['type'];
export type JobEventOf<T extends JobEventType> = Extract<JobEvent, { type: T }>;
/** An event as a producer hands it over: the publisher stamps `jobId` and `at`. */
export type NewJobEvent = JobEvent extends infer E ? (E extends JobEvent ? Omit<E, 'jobId' | 'at'> : never) : never;

export const TERMINAL_EVENT_TYPES = ['job.succeeded', 'job.failed', 'job.cancelled'] as const satisfies JobEventType[];
export function isTerminalEvent(e: Pick<JobEvent, 'type'>): boolean {
  return (TERMINAL_EVENT_TYPES as readonly string[]).includes(e.type);
}
