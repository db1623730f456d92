import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ModelCallObserver, StepContext } from '@tinyb/core';

/** An event as an attempt publishes it (contracts' NewJobEvent, as core's ports name it). */
type NewJobEvent = Parameters<StepContext['emit']>[0];

const STEP_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const WAIT_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];

/**
 * A worker's Prometheus metrics (`tinyb_*`), fed from the events its attempts publish: the events already say
 * when a step ends and how long it took, how a job ended and what it spent, so the pipeline needs no second
 * set of hooks. Sandbox create and destroy are the `create_sandbox` and `destroy_sandbox` steps.
 */
export class WorkerMetrics {
  readonly registry: Registry;
  private readonly attempts: Counter<'agent'>;
  private readonly running: Gauge<'agent'>;
  private readonly finished: Counter<'agent' | 'state' | 'outcome'>;
  private readonly stepSeconds: Histogram<'step' | 'result'>;
  private readonly queueWait: Histogram<'agent'>;
  private readonly tokens: Counter<'agent' | 'kind'>;
  private readonly cost: Counter<'agent'>;
  private readonly sandboxSeconds: Histogram<'provider' | 'operation'>;
  private readonly sandboxFailures: Counter<'provider' | 'operation'>;
  private readonly modelCalls: Counter<'provider' | 'status'>;
  private readonly modelCallSeconds: Histogram<'provider'>;

  constructor(opts: { registry?: Registry; processMetrics?: boolean } = {}) {
    const registers = [(this.registry = opts.registry ?? new Registry())];
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'tinyb_worker_' });
    this.attempts = new Counter({ name: 'tinyb_job_attempts_started_total', help: 'Job attempts started on this worker', labelNames: ['agent'], registers });
    this.running = new Gauge({ name: 'tinyb_jobs_running', help: 'Job attempts running on this worker now', labelNames: ['agent'], registers });
    this.finished = new Counter({
      name: 'tinyb_job_attempts_finished_total',
      help: 'Job attempts ended on this worker, by state (succeeded, failed, cancelled, retrying) and outcome (pr_opened, pr_updated, no_changes, or the error code)',
      labelNames: ['agent', 'state', 'outcome'],
      registers,
    });
    this.stepSeconds = new Histogram({ name: 'tinyb_step_duration_seconds', help: 'Pipeline step durations', labelNames: ['step', 'result'], buckets: STEP_SECONDS, registers });
    this.queueWait = new Histogram({ name: 'tinyb_queue_wait_seconds', help: 'From enqueue to the first attempt\'s start', labelNames: ['agent'], buckets: WAIT_SECONDS, registers });
    this.tokens = new Counter({ name: 'tinyb_agent_tokens_total', help: 'Model tokens of finished jobs, by agent and kind (input, output)', labelNames: ['agent', 'kind'], registers });
    this.cost = new Counter({ name: 'tinyb_agent_cost_usd_total', help: 'Model cost (USD) of finished jobs, where known', labelNames: ['agent'], registers });
    this.sandboxSeconds = new Histogram({
      name: 'tinyb_sandbox_operation_seconds',
      help: 'Sandbox create and destroy durations',
      labelNames: ['provider', 'operation'],
      buckets: STEP_SECONDS,
      registers,
    });
    this.sandboxFailures = new Counter({ name: 'tinyb_sandbox_failures_total', help: 'Sandbox creates and destroys that failed', labelNames: ['provider', 'operation'], registers });
    this.modelCalls = new Counter({ name: 'tinyb_model_calls_total', help: 'Upstream model calls through the gateway, by provider and HTTP status (none: no answer)', labelNames: ['provider', 'status'], registers });
    this.modelCallSeconds = new Histogram({ name: 'tinyb_model_call_duration_seconds', help: 'Upstream model call durations, to the end of the body', labelNames: ['provider'], buckets: STEP_SECONDS, registers });
  }

  /**
   * One attempt's metrics: `started` when it begins (with its queue wait on a first attempt), `event` for each
   * event it publishes, `ended` in its finally. Returned as an object so the attempt's labels are set once.
   */
  attempt(labels: { agent: string; sandboxProvider: string }, queuedForMs?: number) {
    const { agent, sandboxProvider } = labels;
    this.attempts.inc({ agent });
    this.running.inc({ agent });
    if (queuedForMs !== undefined) this.queueWait.observe({ agent }, Math.max(0, queuedForMs) / 1000);
    let ended = false;
    return {
      event: (event: NewJobEvent) => this.observe(event, agent, sandboxProvider),
      ended: () => {
        if (ended) return;
        ended = true;
        this.running.dec({ agent });
      },
    };
  }

  /** Counts calls per provider and status, for the gateway (pair with Tracing.modelCalls through `combineObservers`). */
  readonly modelCallObserver: ModelCallObserver = {
    grantOpened: () => ({
      callStarted: (call) => (result) => {
        this.modelCalls.inc({ provider: call.provider, status: result.status === undefined ? 'none' : String(result.status) });
        this.modelCallSeconds.observe({ provider: call.provider }, result.durationMs / 1000);
      },
    }),
  };

  private observe(event: NewJobEvent, agent: string, provider: string): void {
    switch (event.type) {
      case 'step.completed':
      case 'step.failed': {
        const result = event.type === 'step.completed' ? 'ok' : 'failed';
        this.stepSeconds.observe({ step: event.step, result }, event.durationMs / 1000);
        const operation = event.step === 'create_sandbox' ? 'create' : event.step === 'destroy_sandbox' ? 'destroy' : undefined;
        if (operation) {
          this.sandboxSeconds.observe({ provider, operation }, event.durationMs / 1000);
          if (result === 'failed') this.sandboxFailures.inc({ provider, operation });
        }
        return;
      }
      case 'job.succeeded':
        this.finished.inc({ agent, state: 'succeeded', outcome: event.result.outcome });
        this.spent(agent, event.result.usage);
        return;
      case 'job.failed':
        this.finished.inc({ agent, state: 'failed', outcome: event.error.code });
        this.spent(agent, event.usage);
        return;
      case 'job.cancelled':
        this.finished.inc({ agent, state: 'cancelled', outcome: 'cancelled' });
        this.spent(agent, event.usage);
        return;
      case 'job.retrying':
        this.finished.inc({ agent, state: 'retrying', outcome: event.error.code });
        return;
      default:
        return;
    }
  }

  /** A job's totals (all attempts) are counted once, with its terminal event. */
  private spent(agent: string, usage: { inputTokens: number; outputTokens: number; costUsd?: number } | undefined): void {
    if (!usage) return;
    this.tokens.inc({ agent, kind: 'input' }, usage.inputTokens);
    this.tokens.inc({ agent, kind: 'output' }, usage.outputTokens);
    if (usage.costUsd !== undefined) this.cost.inc({ agent }, usage.costUsd);
  }
}

/** One observer that tells each of `observers` (metrics and tracing, say) about every call. */
export function combineObservers(...observers: (ModelCallObserver | undefined)[]): ModelCallObserver | undefined {
  const present = observers.filter((o): o is ModelCallObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  return {
    grantOpened: (grant) => {
      const grants = present.map((o) => o.grantOpened(grant));
      return {
        callStarted: (call) => {
          const ends = grants.map((g) => g.callStarted(call));
          return (result) => ends.forEach((end) => end(result));
        },
      };
    },
  };
}
