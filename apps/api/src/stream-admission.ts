import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export type StreamRefusal = { reason: 'event_loop_lag' | 'stream_cap'; retryAfterSeconds: number; message: string };

export interface StreamAdmissionOptions {
  /** Above this event-loop lag (ms) new streams are refused; 0: never. */
  shedLagMs: number;
  /** Open streams this process holds at most; 0: no cap. */
  maxStreams: number;
  openStreams(): number;
}

const WINDOW_MS = 1_000;

/**
 * Decides whether a new SSE stream may open on this process. Shedding new streams while the event loop lags
 * keeps the streams already open (and health checks and submits) served, instead of slowing everyone; the
 * refused clients come back after Retry-After, possibly to a calmer process. Lag is the max event-loop delay
 * over the last one to two seconds, from Node's native histogram.
 */
export class StreamAdmission {
  private readonly histogram: IntervalHistogram;
  private previousMaxMs = 0;

  constructor(private readonly opts: StreamAdmissionOptions) {
    // The monitor is a timer: each tick wakes the event loop. Every 20 ms cost an idle API 0.4% of a core;
    // a stall long enough to shed on (200 ms by default) still delays a tick due within it by most of its
    // length at half that resolution, so the monitor ticks at half the threshold, at most every 100 ms.
    const resolutionMs = Math.max(10, Math.min(100, Math.floor((opts.shedLagMs || 200) / 2)));
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
    this.histogram.enable();
    // Windows roll on a clock, so a lag that is over stops counting within two windows even if nobody asks.
    setInterval(() => {
      this.previousMaxMs = this.histogram.max / 1e6;
      this.histogram.reset();
    }, WINDOW_MS).unref();
  }

  /** The largest event-loop delay of the current and the previous window (1–2 s), in ms. */
  lagMs(): number {
    return Math.max(this.previousMaxMs, this.histogram.max / 1e6);
  }

  /** Undefined when a new stream may open; otherwise why not, and when to come back. */
  refusal(): StreamRefusal | undefined {
    if (this.opts.maxStreams > 0 && this.opts.openStreams() >= this.opts.maxStreams) {
      return { reason: 'stream_cap', retryAfterSeconds: 1 + jitterSeconds(), message: `this process already holds ${this.opts.maxStreams} streams; retry shortly` };
    }
    if (this.opts.shedLagMs > 0) {
      const lag = this.lagMs();
      if (lag > this.opts.shedLagMs) {
        return { reason: 'event_loop_lag', retryAfterSeconds: 1 + jitterSeconds(), message: `the API is overloaded (event loop ${Math.round(lag)} ms behind); retry shortly` };
      }
    }
    return undefined;
  }
}

/** 0–2 s more, so thousands of shed clients do not all come back in the same second. */
function jitterSeconds(): number {
  return Math.floor(Math.random() * 3);
}
