import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { ModelCallObserver, SpanAttributes, SpanRunner } from '@tinyb/core';

export interface TracingOptions {
  /** `tinyb-api`, `tinyb-worker` (OTEL_SERVICE_NAME overrides it). */
  serviceName: string;
  serviceVersion?: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT: the collector's OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. */
  otlpEndpoint?: string;
  /** Instead of OTLP (tests: an InMemorySpanExporter); spans are then exported one by one, at once. */
  exporter?: SpanExporter;
}

/** The W3C trace context a job carries in its data, and the trace id it is shown by. */
export interface JobTraceContext {
  traceparent: string;
  traceId: string;
}

/**
 * The process's tracing, set up in one place: a Node tracer provider (AsyncLocalStorage context, so what a span's
 * callback awaits sees it as current) exporting over OTLP/HTTP. Off unless an endpoint (or exporter) is given:
 * `startTracing` then answers undefined and the callers trace nothing. A job is one trace: the API's
 * `job.enqueue` span puts its traceparent in the job's data, and every attempt's `job.attempt` span (with its
 * `step.<name>` and model call spans below) continues it.
 */
export class Tracing {
  private readonly tracer: Tracer;

  constructor(private readonly provider: NodeTracerProvider) {
    this.tracer = provider.getTracer('tinyb');
  }

  /** The `step.<name>` spans of the pipeline (core's port). */
  readonly spans: SpanRunner = {
    run: (name, attributes, fn) => this.inSpan(name, attributes, fn),
  };

  /** The API's span around queueing a job; `fn` gets the context to store with the job. */
  async enqueue<T>(attributes: SpanAttributes, fn: (trace: JobTraceContext) => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan('job.enqueue', { kind: SpanKind.PRODUCER, attributes }, ROOT_CONTEXT, (span) =>
      settle(span, () => {
        const carrier: Record<string, string> = {};
        propagation.inject(context.active(), carrier);
        return fn({ traceparent: carrier['traceparent'] ?? '', traceId: span.spanContext().traceId });
      }),
    );
  }

  /**
   * One attempt of a job, as a `job.attempt` span continuing the trace of `traceparent` (the job's data), or a
   * trace of its own for a job queued while tracing was off.
   */
  async attempt<T>(traceparent: string | undefined, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
    const parent = traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
    return this.tracer.startActiveSpan('job.attempt', { kind: SpanKind.CONSUMER, attributes }, parent, (span) => settle(span, fn));
  }

  /** A span per upstream model call, a child of the step that opened the grant. */
  readonly modelCalls: ModelCallObserver = {
    grantOpened: () => {
      // Captured now: the calls themselves arrive on the gateway's HTTP server, outside the step's context.
      const parent = context.active();
      return {
        callStarted: (call) => {
          const span = this.tracer.startSpan(
            'model.call',
            { kind: SpanKind.CLIENT, attributes: { 'tinyb.model.provider': call.provider, 'http.request.method': call.method, 'url.path': call.path } },
            parent,
          );
          return (result) => {
            if (result.status !== undefined) span.setAttribute('http.response.status_code', result.status);
            span.setAttribute('tinyb.model.outcome', result.outcome);
            if (result.inputTokens !== undefined) span.setAttribute('gen_ai.usage.input_tokens', result.inputTokens);
            if (result.outputTokens !== undefined) span.setAttribute('gen_ai.usage.output_tokens', result.outputTokens);
            if (result.outcome !== 'completed' || (result.status ?? 0) >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome });
            span.end();
          };
        },
      };
    },
  };

  /** Exports what is left and stops. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  }

  /** Sends the spans ended so far (tests, and before a process exits). */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  private inSpan<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
    return this.tracer.startActiveSpan(name, { attributes }, (span) => settle(span, fn));
  }
}

/** Starts tracing when there is somewhere to send spans; undefined (tracing off) otherwise. */
export function startTracing(opts: TracingOptions): Tracing | undefined {
  if (opts.exporter === undefined && !opts.otlpEndpoint) return undefined;
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url: `${opts.otlpEndpoint!.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: opts.serviceName,
      ...(opts.serviceVersion === undefined ? {} : { [ATTR_SERVICE_VERSION]: opts.serviceVersion }),
    }),
    spanProcessors: [opts.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  // Registers the AsyncLocalStorage context manager and the W3C propagator globally: the logger's mixin reads the
  // current span through the global API.
  provider.register();
  return new Tracing(provider);
}

/** The current span's ids, for log lines (pino mixin); nothing outside a span or with tracing off. */
export function activeTraceIds(): { traceId?: string; spanId?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { traceId, spanId };
}

async function settle<T>(span: Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
    if (code !== undefined) span.setAttribute('tinyb.error.code', code);
    span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? (err instanceof Error ? err.message : String(err)) });
    throw err;
  } finally {
    span.end();
  }
}

