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
import type { Tracing, WorkerMetrics } from '@tinyb/runtime';

/**
 * Where the worker records its running attempts (`AttemptRegistry` from @tinyb/queue), so that another
 * process can tell a lost attempt from a running one and clean up after it.
 */
export interface AttemptLedger {
  begin(attempt: { jobId: string; attempt: number; workerId: string; host: string; startedAt: string }): Promise<void>;
  end(jobId: string, attempt: number): Promise<void>;
  attemptsOf(jobId: string): Promise<Array<{ attempt: number; workerId: string }>>;
}

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
  /** This machine's name: a local sandbox can be cleaned up only here. */
  host: string;
  attempts: AttemptLedger;
  /** Called when this worker takes over a job whose worker was lost: the lost attempt's leftovers can go. */
  onTakeover(jobId: string, previousWorkerId: string | undefined): void;
  /** Wall-clock limit for one attempt, all steps included. */
  jobTimeoutMs: number;
  /** Prometheus metrics of the attempts (from their events); absent: none. */
  metrics?: Pick<WorkerMetrics, 'attempt'>;
  /** Tracing: each attempt is a `job.attempt` span continuing the job's trace, each step a span below it. */
  tracing?: Pick<Tracing, 'attempt' | 'spans'>;
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
  const runAttempt = attemptBody(deps, publisher);
  return async function runTracedAttempt(job: Job, token: string | undefined, bullSignal?: AbortSignal): Promise<JobResult> {
    if (!deps.tracing) return runAttempt(job, token, bullSignal);
    const traceparent = CodeJobData.safeParse(job.data).data?.traceparent;
    return deps.tracing.attempt(traceparent, { 'tinyb.job_id': job.id ?? '', 'tinyb.attempt': job.attemptsStarted, 'tinyb.worker_id': deps.workerId }, () =>
      runAttempt(job, token, bullSignal),
    );
  };
}

function attemptBody(deps: ProcessorDeps, publisher: RedactingJobEventPublisher) {
  return async function runAttempt(job: Job, _token: string | undefined, bullSignal?: AbortSignal): Promise<JobResult> {
    const jobId = requireJobId(job);
    const data = CodeJobData.parse(job.data);
    // BullMQ counts every pickup (attemptsStarted) but only finished attempts (attemptsMade): a pickup that
    // neither completed nor failed lost its worker. Each pickup gets its own number, so the lost attempt
    // and the one that takes over are told apart in events, the registry and sandbox names.
    const takenOver = job.attemptsStarted > job.attemptsMade + 1;
    const attempt = Math.max(job.attemptsStarted, job.attemptsMade + 1);
    const logger = deps.logger.child({ jobId, attempt });
    let observed: ReturnType<WorkerMetrics['attempt']> | undefined;
    const emit = async (event: NewJobEvent) => {
      await publisher.publish(jobId, event);
      observed?.event(event);
    };

    if (await deps.isCancelRequested(jobId)) {
      await emit({ type: 'job.cancelled' });
      throw new UnrecoverableError('cancelled before start');
    }

    if (takenOver) {
      const lost = (await deps.attempts.attemptsOf(jobId)).filter((a) => a.attempt < attempt).at(-1);
      await emit({ type: 'job.recovered', attempt: lost?.attempt ?? attempt - 1, ...(lost ? { previousWorkerId: lost.workerId } : {}), reason: 'worker_lost' });
      logger.warn({ previousWorkerId: lost?.workerId, stalledCount: job.stalledCounter }, 'job taken over from a lost worker');
      deps.onTakeover(jobId, lost?.workerId);
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
      ...(deps.tracing ? { spans: deps.tracing.spans } : {}),
      emit: async (event) => {
        if (event.type === 'step.started') currentStep = event.step;
        await emit(event);
      },
    };

    // Queue wait is enqueue → first start; a retry's wait is mostly its backoff, which says nothing of capacity.
    observed = deps.metrics?.attempt(
      { agent: data.agent, sandboxProvider: deps.pipeline.sandboxProvider.name },
      attempt === 1 ? Date.now() - job.timestamp : undefined,
    );
    await emit({ type: 'job.started', attempt, workerId: deps.workerId });
    logger.info({ agent: data.agent, repo: data.repo.url }, 'job started');
    try {
      // Recorded before the sandbox exists, removed in the finally below: a record outlives its attempt only
      // when the worker died.
      await deps.attempts.begin({ jobId, attempt, workerId: deps.workerId, host: deps.host, startedAt: new Date().toISOString() });
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
      // BullMQ's retry budget counts finished attempts only: a lost one does not use a retry up.
      const attemptsAllowed = job.opts.attempts ?? 1;
      const finishedAttempts = job.attemptsMade + 1;
      if (error.retryable && finishedAttempts < attemptsAllowed) {
        await emit({ type: 'job.retrying', attempt, error: jobError, delayMs: retryDelayMs(job, finishedAttempts) });
        logger.warn({ err: error, code: error.code, step }, 'job attempt failed; will retry');
        throw error;
      }
      await emit({ type: 'job.failed', error: jobError, usage: usage.total() });
      logger.error({ err: error, code: error.code, step }, 'job failed');
      throw new UnrecoverableError(`${error.code}: ${error.message}`);
    } finally {
      dispose();
      observed?.ended();
      await deps.attempts.end(jobId, attempt).catch((err: unknown) => logger.warn({ err }, 'could not unregister the attempt'));
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
