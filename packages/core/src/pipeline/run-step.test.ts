import type { NewJobEvent } from '@tinyb/contracts';
import { AppError, CancelledError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { StepContext } from '../ports/step-context.js';
import { runStep } from './run-step.js';

interface LogLine {
  level: string;
  bindings: Record<string, unknown>;
  obj: object;
  msg: string;
}

/** A logger that records every line with the bindings of the child it was written through. */
function recordingLogger(lines: LogLine[] = [], bindings: Record<string, unknown> = {}): Logger & { lines: LogLine[] } {
  const at = (level: string) => (obj: object, msg: string) => {
    lines.push({ level, bindings, obj, msg });
  };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

function context() {
  const events: NewJobEvent[] = [];
  const logger = recordingLogger([], { jobId: 'job-1' });
  const ctx: StepContext = {
    jobId: 'job-1',
    logger,
    signal: new AbortController().signal,
    emit: async (e) => {
      events.push(e);
    },
  };
  return { ctx, events, logger };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('runStep', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('emits step.started, runs the step, then step.completed with its detail and duration', async () => {
    jest.useFakeTimers();
    const { ctx, events } = context();
    let seenBeforeRun: NewJobEvent[] = [];
    const run = runStep(
      'clone',
      ctx,
      async () => {
        seenBeforeRun = [...events];
        await sleep(1234);
        return { sha: 'abc' };
      },
      (v) => `at ${v.sha}`,
    );
    await jest.advanceTimersByTimeAsync(1234);
    await expect(run).resolves.toEqual({ sha: 'abc' });
    expect(seenBeforeRun).toEqual([{ type: 'step.started', step: 'clone' }]);
    expect(events).toEqual([
      { type: 'step.started', step: 'clone' },
      { type: 'step.completed', step: 'clone', durationMs: 1234, detail: 'at abc' },
    ]);
  });

  it.each<[string, ((v: number) => string | undefined) | undefined]>([
    ['no describe function', undefined],
    ['a describe function that returns undefined', () => undefined],
  ])('leaves detail out with %s', async (_name, describe) => {
    const { ctx, events } = context();
    await expect(runStep('commit', ctx, async () => 7, describe)).resolves.toBe(7);
    expect(events[1]).toEqual({ type: 'step.completed', step: 'commit', durationMs: expect.any(Number) });
    expect(events[1]).not.toHaveProperty('detail');
  });

  it.each<[string, unknown, string, string, boolean]>([
    ['an AppError keeps its code and policy', new AppError('clone_failed', 'remote hung up', { retryable: true }), 'clone_failed', 'remote hung up', true],
    ['a CancelledError stays cancelled', new CancelledError(), 'cancelled', 'job was cancelled', false],
    ['a plain Error becomes internal (retryable)', new Error('undefined is not a function'), 'internal', 'undefined is not a function', true],
    ['a thrown string becomes internal', 'boom', 'internal', 'boom', true],
  ])('on failure: %s, emits step.failed and rethrows an AppError carrying the step', async (_name, thrown, code, message, retryable) => {
    jest.useFakeTimers();
    const { ctx, events } = context();
    const run = runStep('run_agent', ctx, async () => {
      await sleep(50);
      throw thrown;
    });
    const settled = run.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(50);
    const err = await settled;

    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code, message, retryable, step: 'run_agent' });
    if (thrown instanceof AppError) expect(err).toBe(thrown);
    else expect((err as AppError).cause).toBe(thrown);
    expect(events).toEqual([
      { type: 'step.started', step: 'run_agent' },
      { type: 'step.failed', step: 'run_agent', durationMs: 50, error: { code, message, step: 'run_agent' } },
    ]);
  });

  it('keeps the step an error already names (an inner step failed first)', async () => {
    const { ctx, events } = context();
    const inner = new AppError('branch_not_found', 'no branch dev');
    inner.step = 'clone';
    await expect(runStep('run_agent', ctx, async () => Promise.reject(inner))).rejects.toMatchObject({ step: 'clone' });
    // the event still reports the step that was running
    expect(events[1]).toMatchObject({ type: 'step.failed', step: 'run_agent', error: { step: 'run_agent' } });
  });

  it('does not emit step.completed when the describe function throws, and reports the failure', async () => {
    const { ctx, events } = context();
    await expect(
      runStep('open_pr', ctx, async () => 1, () => {
        throw new Error('bad describe');
      }),
    ).rejects.toMatchObject({ code: 'internal', step: 'open_pr' });
    expect(events.map((e) => e.type)).toEqual(['step.started', 'step.failed']);
  });

  it('gives the step a logger bound to { step }, leaving the job logger unbound', async () => {
    const { ctx, logger } = context();
    let stepCtx: StepContext | undefined;
    await runStep('push_branch', ctx, async (c) => {
      stepCtx = c;
      c.logger.info({ branch: 'tinyb/job-1' }, 'pushing branch');
    });
    ctx.logger.info({}, 'after the step');

    expect(logger.lines).toEqual([
      { level: 'info', bindings: { jobId: 'job-1', step: 'push_branch' }, obj: { branch: 'tinyb/job-1' }, msg: 'pushing branch' },
      { level: 'info', bindings: { jobId: 'job-1' }, obj: {}, msg: 'after the step' },
    ]);
    // everything else of the context is handed through
    expect(stepCtx).toMatchObject({ jobId: 'job-1', signal: ctx.signal, emit: ctx.emit });
  });

  it('waits for step.started to be recorded before running the step', async () => {
    const { ctx } = context();
    const order: string[] = [];
    const slowCtx: StepContext = {
      ...ctx,
      emit: async (e) => {
        await Promise.resolve();
        await Promise.resolve();
        order.push(`emitted ${e.type}`);
      },
    };
    await runStep('destroy_sandbox', slowCtx, async () => {
      order.push('ran');
    });
    expect(order).toEqual(['emitted step.started', 'ran', 'emitted step.completed']);
  });
});
