import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { AppError, runStep, silentLogger, type StepContext } from '@tinyb/core';
import { createLogger } from './create-logger.js';
import { activeTraceIds, startTracing, type Tracing } from './tracing.js';

/**
 * One job's trace, in-process with the real SDK and an in-memory exporter: the API's enqueue span, an attempt
 * continuing it from the traceparent alone (as a worker does from the job's data), steps below the attempt,
 * model calls below the step that opened their grant, and log lines that name the trace.
 */
describe('Tracing', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;

  beforeAll(() => {
    tracing = startTracing({ serviceName: 'tinyb-test', exporter })!;
  });
  afterAll(() => tracing.shutdown());
  beforeEach(() => exporter.reset());

  const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
  const named = (name: string) => {
    const found = spans().filter((s) => s.name === name);
    if (found.length !== 1) throw new Error(`expected one ${name} span, got ${found.length}: ${spans().map((s) => s.name).join(', ')}`);
    return found[0]!;
  };
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  it('is off without an endpoint or an exporter', () => {
    expect(startTracing({ serviceName: 'x' })).toBeUndefined();
    expect(startTracing({ serviceName: 'x', otlpEndpoint: '' })).toBeUndefined();
  });

  it('makes one trace of enqueue → attempt → steps → model calls, and stamps log lines with its ids', async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: 'test', level: 'info', destination: { write: (line: string) => void lines.push(line) } });

    const queued = await tracing.enqueue({ 'tinyb.agent': 'claude-code' }, async (trace) => trace);
    expect(queued.traceparent).toMatch(new RegExp(`^00-${queued.traceId}-[0-9a-f]{16}-01$`));

    // The worker: nothing but the traceparent crosses over, and no context is current when the job arrives.
    await context.with(ROOT_CONTEXT, () =>
      tracing.attempt(queued.traceparent, { 'tinyb.job_id': 'job-1', 'tinyb.attempt': 1 }, async () => {
        const ctx: StepContext = { jobId: 'job-1', logger: silentLogger, signal: new AbortController().signal, emit: async () => {}, spans: tracing.spans };
        await runStep('clone', ctx, async () => logger.info({}, 'cloning'));
        await runStep('run_agent', ctx, async () => {
          const grant = tracing.modelCalls.grantOpened({ jobId: 'job-1', attempt: 1 });
          // The call arrives later on the gateway's server, in a context of its own.
          await new Promise<void>((resolve) =>
            context.with(ROOT_CONTEXT, () =>
              setImmediate(() => {
                grant.callStarted({ provider: 'anthropic', method: 'POST', path: '/v1/messages' })({ status: 200, outcome: 'completed', durationMs: 5, inputTokens: 12, outputTokens: 3 });
                resolve();
              }),
            ),
          );
        });
        await expect(
          runStep('open_pr', ctx, async () => {
            throw new AppError('git_host_failed', 'GitHub said no');
          }),
        ).rejects.toThrow('GitHub said no');
      }),
    );
    logger.info({}, 'outside');

    const enqueue = named('job.enqueue');
    const attempt = named('job.attempt');
    const clone = named('step.clone');
    const agent = named('step.run_agent');
    const call = named('model.call');
    const openPr = named('step.open_pr');
    expect(new Set(spans().map((s) => s.spanContext().traceId))).toEqual(new Set([queued.traceId]));
    expect(parentOf(attempt)).toBe(enqueue.spanContext().spanId);
    expect(parentOf(clone)).toBe(attempt.spanContext().spanId);
    expect(parentOf(agent)).toBe(attempt.spanContext().spanId);
    expect(parentOf(call)).toBe(agent.spanContext().spanId);
    expect(call.attributes).toMatchObject({ 'tinyb.model.provider': 'anthropic', 'http.response.status_code': 200, 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 3 });
    expect(openPr.status).toMatchObject({ code: 2 /* ERROR */ });
    expect(openPr.attributes).toMatchObject({ 'tinyb.error.code': 'git_host_failed', 'tinyb.step': 'open_pr' });
    expect(clone.status.code).not.toBe(2);

    const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({ msg: 'cloning', traceId: queued.traceId, spanId: clone.spanContext().spanId });
    expect(outside).not.toHaveProperty('traceId');
    expect(activeTraceIds()).toEqual({});
  });

  it('gives a job queued without a traceparent a trace of its own', async () => {
    await tracing.attempt(undefined, {}, async () => undefined);
    const attempt = named('job.attempt');
    expect(attempt.parentSpanContext).toBeUndefined();
  });
});
