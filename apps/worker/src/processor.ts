import { UnrecoverableError, type Job } from 'bullmq';
import { CodeJobData, type JobError, type JobResult, type NewJobEvent, type Step } from '@tinyb/contracts';
import {
  AppError,
  CancelledError,
  JobUsageMeter,
  RedactingJobEventPublisher,
  abortReason,
  effectiveBudget,
  runCodeJob,
  toAppError,
  type Budget,
  type JobContext,
  type JobEventPublisher,
  type JobStatusReader,
  type Logger,
  type PipelineDeps,
  type Redactor,
} from '@tinyb/core';

/** The reason a worker passes to `cancelJob` when it shuts down: the job is handed back, not cancelled. */
export const SHUTDOWN_REASON = 'worker-shutdown';

export interface ProcessorDeps {
  pipeline: PipelineDeps;
  events: JobEventPublisher & JobStatusReader;
  /** The operator's per-job budget; a job's own budget can only lower it. */
  budget: Budget;
  isCancelRequested(jobId: string): Promise<boolean>;
  logger: Logger;
  /** The process's redactor: events, the result and thrown errors (which BullMQ stores in Redis) pass through it. */
  redactor: Redactor;
  workerId: string;
  /** Wall-clock limit for one attempt, all steps included. */
  jobTimeoutMs: number;
}

/**
 * A job's whole life in one attempt: record its start, run the pipeline, record exactly one terminal
 * event when the job is over (or `job.retrying` when BullMQ will try again), and tell BullMQ which one
 * it is. The three parameters matter: BullMQ passes the abort signal only to processors that declare it.
 */
export function createProcessor(deps: ProcessorDeps) {
  // The only publisher the attempt gets: agent events carry whatever the agent printed.
  const publisher = new RedactingJobEventPublisher(deps.events, deps.redactor);
  const runAttempt = attemptRunner(deps, publisher);
  // What BullMQ stores in Redis (the return value; an error's message as failedReason, its stack as
  // stacktrace) is redacted here, once for every way out.
  return async function processCodeJob(job: Job, token: string | undefined, bullSignal?: AbortSignal): Promise<JobResult> {
    try {
      return deps.redactor.redactValue(await runAttempt(job, token, bullSignal));
    } catch (err) {
      throw redactError(err, deps.redactor);
    }
  };
}

function attemptRunner(deps: ProcessorDeps, publisher: RedactingJobEventPublisher) {
  return async function runAttempt(job: Job, _token: string | undefined, bullSignal?: AbortSignal): Promise<JobResult> {
    const jobId = requireJobId(job);
    const data = CodeJobData.parse(job.data);
    const attempt = job.attemptsMade + 1;
    const logger = deps.logger.child({ jobId, attempt });
    const emit = async (event: NewJobEvent) => {
      await publisher.publish(jobId, event);
    };

    if (await deps.isCancelRequested(jobId)) {
      await emit({ type: 'job.cancelled' });
      throw new UnrecoverableError('cancelled before start');
    }

    const { signal, abort, dispose } = jobSignal(bullSignal, deps.jobTimeoutMs);
    // Spending carries over from earlier attempts: the budget is the job's, not the attempt's.
    const previousUsage = (await deps.events.getStatus(jobId))?.usage ?? null;
    const usage = new JobUsageMeter({ previous: previousUsage, budget: effectiveBudget(data.budget, deps.budget), emit, onExceeded: abort });
    let currentStep: Step | undefined;
    const ctx: JobContext = {
      jobId,
      logger,
      signal,
      usage,
      emit: async (event) => {
        if (event.type === 'step.started') currentStep = event.step;
        await emit(event);
      },
    };

    await emit({ type: 'job.started', attempt, workerId: deps.workerId });
    logger.info({ agent: data.agent, repo: data.repo.url }, 'job started');
    try {
      const result = await runCodeJob({ id: jobId, attempt, data }, deps.pipeline, ctx);
      await emit({ type: 'job.succeeded', result });
      logger.info({ outcome: result.outcome, pr: result.pr?.url }, 'job succeeded');
      return result;
    } catch (err) {
      // Once the signal fired, its reason is the truth (cancel, timeout, shutdown), whatever a step threw.
      const error = signal.aborted ? abortReason(signal) : toAppError(err);
      const step = error.step ?? currentStep;
      const jobError: JobError = { code: error.code, message: error.message, ...(step ? { step } : {}) };

      if (error instanceof CancelledError) {
        await emit({ type: 'job.cancelled', ...(step ? { step } : {}), usage: usage.total() });
        logger.info({ step }, 'job cancelled');
        throw new UnrecoverableError('cancelled');
      }
      const attemptsAllowed = job.opts.attempts ?? 1;
      if (error.retryable && attempt < attemptsAllowed) {
        await emit({ type: 'job.retrying', attempt, error: jobError, delayMs: retryDelayMs(job, attempt) });
        logger.warn({ err: error, code: error.code, step }, 'job attempt failed; will retry');
        throw error;
      }
      await emit({ type: 'job.failed', error: jobError, usage: usage.total() });
      logger.error({ err: error, code: error.code, step }, 'job failed');
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    } finally {
      dispose();
    }
  };
}

/** Redacts an error's message and stack in place: its class (UnrecoverableError or not) is BullMQ's retry policy. */
function redactError(err: unknown, redactor: Redactor): unknown {
  if (!(err instanceof Error)) return err;
  err.message = redactor.redact(err.message);
  if (err.stack !== undefined) err.stack = redactor.redact(err.stack);
  return err;
}

/** The delay BullMQ will wait before the next attempt, from the job's own backoff option. */
function retryDelayMs(job: Job, attemptsMade: number): number {
  const { backoff } = job.opts;
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return backoff;
  const delay = backoff.delay ?? 0;
  return backoff.type === 'exponential' ? delay * 2 ** (attemptsMade - 1) : delay;
}

function requireJobId(job: Job): string {
  if (!job.id) throw new UnrecoverableError('job has no id');
  return job.id;
}

/**
 * One signal for the attempt: BullMQ's (cancel or shutdown) plus the job's own time limit, each
 * turned into the AppError that says what happened.
 */
function jobSignal(bullSignal: AbortSignal | undefined, timeoutMs: number) {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new AppError('job_timeout', `job exceeded its time limit of ${timeoutMs} ms`)),
    timeoutMs,
  );
  const onBullAbort = () => {
    const reason: unknown = bullSignal?.reason;
    controller.abort(
      reason === SHUTDOWN_REASON
        ? new AppError('worker_lost', 'the worker shut down before the job finished', { retryable: true })
        : new CancelledError(),
    );
  };
  if (bullSignal?.aborted) onBullAbort();
  else bullSignal?.addEventListener('abort', onBullAbort, { once: true });
  return {
    signal: controller.signal,
    /** Ends the attempt for a reason found inside it (a spent budget). */
    abort: (reason: AppError) => controller.abort(reason),
    dispose() {
      clearTimeout(timer);
      bullSignal?.removeEventListener('abort', onBullAbort);
    },
  };
}
