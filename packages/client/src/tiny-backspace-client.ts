import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ErrorBody, JobEvent, JobList, JobStatus, OfferedAgent, isTerminalEvent, type CodeJobRequest, type JobState } from '@tinyb/contracts';
import { z } from 'zod';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The server's Retry-After (seconds) on a 503 or 429, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** A Retry-After in delta-seconds (what the API sends); an HTTP date or garbage gives undefined. */
function retryAfterOf(res: Response): number | undefined {
  const value = res.headers.get('retry-after');
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

const SubmitResponse = z.object({
  id: z.string(),
  status: z.string(),
  links: z.object({ self: z.string(), events: z.string() }),
});
export type SubmitResponse = z.infer<typeof SubmitResponse>;

/** `GET /api/agents`: every agent the deployment knows, with its live workers; `default` is the one a job gets when it names none. */
const AgentList = z.object({
  default: z.string(),
  agents: z.array(OfferedAgent.extend({ default: z.boolean() })),
});
export type AgentList = z.infer<typeof AgentList>;

export interface StreamedJobEvent {
  id: string;
  event: JobEvent;
}

export interface ClientOptions {
  baseUrl: string;
  /** A tenant's API key, or the admin key (API_TOKEN); sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** The older name of `apiKey`. */
  apiToken?: string;
  fetch?: typeof fetch;
}

/** A typed client for the Tiny Backspace HTTP API, shared by the CLI, tests and benchmarks. */
export class TinyBackspaceClient {
  private readonly baseUrl: string;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetch = opts.fetch ?? fetch;
  }

  async submit(request: CodeJobRequest, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<SubmitResponse> {
    const res = await this.request('/api/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : {}) },
      body: JSON.stringify(request),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    return SubmitResponse.parse(await res.json());
  }

  async status(jobId: string, signal?: AbortSignal): Promise<JobStatus> {
    const res = await this.request(`/api/jobs/${encodeURIComponent(jobId)}`, signal ? { signal } : {});
    return JobStatus.parse(await res.json());
  }

  /** The caller's jobs (an admin's: everyone's), newest first; pass `next_cursor` back as `cursor` for the next page. */
  async listJobs(query: { state?: JobState; limit?: number; cursor?: string } = {}, signal?: AbortSignal): Promise<JobList> {
    const params = new URLSearchParams();
    if (query.state !== undefined) params.set('state', query.state);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.cursor !== undefined) params.set('cursor', query.cursor);
    const search = params.size > 0 ? `?${params.toString()}` : '';
    const res = await this.request(`/api/jobs${search}`, signal ? { signal } : {});
    return JobList.parse(await res.json());
  }

  async agents(signal?: AbortSignal): Promise<AgentList> {
    const res = await this.request('/api/agents', signal ? { signal } : {});
    return AgentList.parse(await res.json());
  }

  async cancel(jobId: string): Promise<{ status: string }> {
    const res = await this.request(`/api/jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' });
    return z.object({ status: z.string() }).parse(await res.json());
  }

  /**
   * The job's events, from after `afterId` (or the start). When the connection drops before the terminal
   * event it reconnects with `Last-Event-ID`, so the caller sees every event once, in order.
   */
  async *events(
    jobId: string,
    opts: { afterId?: string; signal?: AbortSignal; maxReconnects?: number; reconnectDelayMs?: number } = {},
  ): AsyncGenerator<StreamedJobEvent> {
    let lastId = opts.afterId;
    let reconnects = 0;
    for (;;) {
      let res: Response;
      try {
        res = await this.request(`/api/jobs/${encodeURIComponent(jobId)}/events`, {
          headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
      } catch (err) {
        // A loaded API sheds new streams with 503 and Retry-After: come back when it says, not at once.
        if (!(err instanceof ApiError) || err.status !== 503 || opts.signal?.aborted) throw err;
        if (++reconnects > (opts.maxReconnects ?? 10)) throw err;
        await new Promise((r) => setTimeout(r, (err.retryAfterSeconds ?? 1) * 1000));
        continue;
      }
      try {
        for await (const message of sseMessages(res)) {
          const event = JobEvent.parse(JSON.parse(message.data));
          if (message.id) lastId = message.id;
          reconnects = 0;
          yield { id: message.id ?? '', event };
          if (isTerminalEvent(event)) return;
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        if (!(err instanceof TypeError) && !(err instanceof Error && err.name === 'AbortError')) throw err;
      }
      if (opts.signal?.aborted) return;
      if (++reconnects > (opts.maxReconnects ?? 10)) throw new Error(`event stream of job ${jobId} keeps dropping`);
      await new Promise((r) => setTimeout(r, opts.reconnectDelayMs ?? 1000));
    }
  }

  private async request(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    const key = this.opts.apiKey ?? this.opts.apiToken;
    if (key) headers.set('authorization', `Bearer ${key}`);
    const res = await this.fetch(`${this.baseUrl}${path}`, { ...init, headers });
    if (res.ok) return res;
    const body: unknown = await res.json().catch(() => undefined);
    const parsed = ErrorBody.safeParse(body);
    const retryAfter = retryAfterOf(res);
    if (parsed.success) throw new ApiError(res.status, parsed.data.error.code, parsed.data.error.message, retryAfter);
    throw new ApiError(res.status, 'http_error', `HTTP ${res.status} from ${path}`, retryAfter);
  }
}

/** Parses a fetch Response body as Server-Sent Events, yielding messages as they arrive. */
export async function* sseMessages(res: Response): AsyncGenerator<EventSourceMessage> {
  if (!res.body) return;
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (message) => queue.push(message) });
  const decoder = new TextDecoder();
  // A reader, not `for await` over the body: browsers without async-iterable streams (Safari) run this too.
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    // A consumer that stops early (a terminal event, an abort) closes the connection instead of leaving it open.
    await reader.cancel().catch(() => undefined);
  }
}
