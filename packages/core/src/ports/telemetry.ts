import type { ModelProvider } from './model-access.js';

export type SpanAttributes = Record<string, string | number | boolean>;

/**
 * Tracing as the domain sees it, so core names its spans without depending on a tracing library (the runtime
 * backs it with OpenTelemetry). Optional everywhere: absent, nothing is traced and nothing is slower.
 */
export interface SpanRunner {
  /**
   * Runs `fn` inside a new span, a child of the span current where it is called; everything `fn` awaits sees
   * it as current. The span ends when `fn` settles, marked as an error (with the AppError code) when it throws.
   */
  run<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T>;
}

/** What one upstream model call came to, as the model gateway saw it. */
export interface ModelCallResult {
  /** Upstream's HTTP status; absent when upstream never answered (unreachable, cut before its headers). */
  status?: number;
  /** `completed`, `revoked`, `client-gone`, `shutdown`, `unreachable`, `timeout`, `failed: …` */
  outcome: string;
  durationMs: number;
  inputTokens?: number;
  outputTokens?: number;
}

/**
 * Watches the model calls of each grant (metrics, spans). `grantOpened` runs inside the attempt's own async
 * context, the agent step's, which is how a call's span finds its parent although the call arrives over HTTP.
 */
export interface ModelCallObserver {
  grantOpened(grant: { jobId: string; attempt: number }): {
    callStarted(call: { provider: ModelProvider; method: string; path: string }): (result: ModelCallResult) => void;
  };
}
