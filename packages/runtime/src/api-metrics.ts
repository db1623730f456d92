import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const LAG_SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ApiMetricsSources {
  /** Job counts of every queue by state, read when scraped. */
  queueJobCounts(): Promise<ReadonlyArray<{ queue: string; state: string; count: number }>>;
  /** Live workers per known agent (0 included), read when scraped. */
  agentWorkers(): Promise<ReadonlyArray<{ agent: string; workers: number }>>;
  /** The event loop's recent delay in ms (what SSE shedding compares with SSE_SHED_LAG_MS). */
  eventLoopLagMs?(): number;
}

/**
 * The API's Prometheus metrics (`tinyb_*`). Queue depths and workers are collected at scrape time from Redis;
 * the rest is counted as requests happen. One registry per app, so apps in one test process do not mix.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  private readonly streamsOpen: Gauge;
  private readonly relayLag: Histogram;
  private readonly submitted: Counter<'agent'>;
  private readonly refused: Counter<'reason'>;

  constructor(sources: ApiMetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'tinyb_queue_jobs',
      help: 'Jobs in each BullMQ queue, by state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { queue, state, count } of await sources.queueJobCounts()) this.set({ queue, state }, count);
      },
    });
    new Gauge({
      name: 'tinyb_agent_workers',
      help: 'Live workers offering each known agent (0: its jobs wait)',
      labelNames: ['agent'],
      registers,
      async collect() {
        this.reset();
        for (const { agent, workers } of await sources.agentWorkers()) this.set({ agent }, workers);
      },
    });
    this.streamsOpen = new Gauge({ name: 'tinyb_sse_streams_open', help: 'Event streams (SSE) open on this API process', registers });
    this.relayLag = new Histogram({
      name: 'tinyb_sse_relay_lag_seconds',
      help: 'From an event\'s time (`at`) to its frame written to a client',
      buckets: LAG_SECONDS,
      registers,
    });
    const lagMs = sources.eventLoopLagMs;
    if (lagMs) {
      new Gauge({
        name: 'tinyb_event_loop_lag_seconds',
        help: 'Largest event-loop delay of this API process over the last second or so (new SSE streams are shed above SSE_SHED_LAG_MS)',
        registers,
        collect() {
          this.set(lagMs() / 1000);
        },
      });
    }
    this.refused = new Counter({ name: 'tinyb_sse_streams_refused_total', help: 'New event streams answered 503, by reason (event_loop_lag, stream_cap)', labelNames: ['reason'], registers });
    this.submitted = new Counter({ name: 'tinyb_jobs_submitted_total', help: 'Jobs queued through this API process', labelNames: ['agent'], registers });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts an open stream until `signal` aborts (the client went away or the stream ended). */
  trackStream(signal: AbortSignal): void {
    signal.addEventListener('abort', this.streamOpened(), { once: true });
  }

  /** Counts an open stream; returns the function to call (once) when it closes. */
  streamOpened(): () => void {
    this.streamsOpen.inc();
    let open = true;
    return () => {
      if (open) this.streamsOpen.dec();
      open = false;
    };
  }

  /** An event written to a client; `at` is the event's ISO time. Replays of old events are lag too, by design. */
  eventRelayed(at: string): void {
    const lagMs = Date.now() - Date.parse(at);
    if (Number.isFinite(lagMs)) this.relayLag.observe(Math.max(0, lagMs) / 1000);
  }

  /** A new event stream refused with 503 (shed under lag, or over the per-process cap). */
  streamRefused(reason: string): void {
    this.refused.inc({ reason });
  }

  jobSubmitted(agent: string): void {
    this.submitted.inc({ agent });
  }
}
