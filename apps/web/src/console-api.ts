import { ApiError, TinyBackspaceClient, type AgentList, type StreamedJobEvent, type SubmitResponse } from '@tinyb/client';
import type { CodeJobRequest, JobList, JobState } from '@tinyb/contracts';

/**
 * The console's one way to the API: the shared client on the page's own origin, with the stored key. Any
 * 401 (no key, a wrong or revoked one) calls `onUnauthorized`, which asks for a key again.
 */
export class ConsoleApi {
  private readonly client: TinyBackspaceClient;

  constructor(private readonly opts: { apiKey: string | undefined; onUnauthorized: () => void }) {
    this.client = new TinyBackspaceClient({
      baseUrl: window.location.origin,
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
      fetch: (input, init) => window.fetch(input, init),
    });
  }

  listJobs(state: JobState | undefined, signal?: AbortSignal): Promise<JobList> {
    return this.guard(() => this.client.listJobs({ limit: 50, ...(state ? { state } : {}) }, signal));
  }

  agents(signal?: AbortSignal): Promise<AgentList> {
    return this.guard(() => this.client.agents(signal));
  }

  submit(request: CodeJobRequest): Promise<SubmitResponse> {
    return this.guard(() => this.client.submit(request));
  }

  cancel(jobId: string): Promise<{ status: string }> {
    return this.guard(() => this.client.cancel(jobId));
  }

  /** The job's events after `afterId` (or from the start), with `Last-Event-ID` sent as a header. */
  async *events(jobId: string, opts: { afterId?: string; signal: AbortSignal }): AsyncGenerator<StreamedJobEvent> {
    try {
      yield* this.client.events(jobId, { ...opts, maxReconnects: 0 });
    } catch (err) {
      this.noticeUnauthorized(err);
      throw err;
    }
  }

  private async guard<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      this.noticeUnauthorized(err);
      throw err;
    }
  }

  private noticeUnauthorized(err: unknown): void {
    if (err instanceof ApiError && err.status === 401) this.opts.onUnauthorized();
  }
}

/** An error as the page shows it: the API's `code: message`, or what the browser said. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) return `${err.code}: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export { ApiError };
