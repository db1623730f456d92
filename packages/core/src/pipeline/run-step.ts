import type { Step } from '@tinyb/contracts';
import { toAppError } from '../errors.js';
import type { StepContext } from '../ports/step-context.js';

/**
 * Runs one named step between `step.started` and `step.completed` (or `step.failed`), so every step
 * reports the same way. A failure is rethrown as an AppError that knows its step.
 */
export async function runStep<T>(
  step: Step,
  ctx: StepContext,
  fn: (stepCtx: StepContext) => Promise<T>,
  describe?: (value: T) => string | undefined,
): Promise<T> {
  // The span holds the whole step, events included: what the step awaits (a model grant, say) finds it current.
  if (ctx.spans) return ctx.spans.run(`step.${step}`, { 'tinyb.step': step, 'tinyb.job_id': ctx.jobId }, () => runReported(step, ctx, fn, describe));
  return runReported(step, ctx, fn, describe);
}

async function runReported<T>(
  step: Step,
  ctx: StepContext,
  fn: (stepCtx: StepContext) => Promise<T>,
  describe?: (value: T) => string | undefined,
): Promise<T> {
  const startedAt = performance.now();
  // Every log line of the step names it.
  const stepCtx: StepContext = { ...ctx, logger: ctx.logger.child({ step }) };
  await ctx.emit({ type: 'step.started', step });
  try {
    const value = await fn(stepCtx);
    const detail = describe?.(value);
    await ctx.emit({
      type: 'step.completed',
      step,
      durationMs: Math.round(performance.now() - startedAt),
      ...(detail === undefined ? {} : { detail }),
    });
    return value;
  } catch (err) {
    const error = toAppError(err);
    error.step ??= step;
    await ctx.emit({
      type: 'step.failed',
      step,
      durationMs: Math.round(performance.now() - startedAt),
      error: { code: error.code, message: error.message, step },
    });
    throw error;
  }
}
