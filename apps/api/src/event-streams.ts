import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Authenticator, Principal } from '@tinyb/auth';
import type { Logger } from '@tinyb/core';
import { JobEventFanout, type JobEventLog } from '@tinyb/events';
import type { ApiMetrics } from '@tinyb/runtime';
import { bearerPrincipal, refuseUnauthenticated } from './authenticate.js';
import { sendError, sendJson, sendRequestError } from './http-errors.js';
import { parseJobId, parseLastEventId } from './request-input.js';
import { encodeSseFrame, openSseSink } from './sse.js';
import { StreamAdmission } from './stream-admission.js';

export interface EventStreamsConfig {
  /** SSE_HEARTBEAT_MS: a comment on every open stream this often, so proxies keep idle ones open. */
  heartbeatMs: number;
  /** SSE_SHED_LAG_MS: above this event-loop lag new streams get 503 with Retry-After; 0: never. */
  shedLagMs: number;
  /** MAX_STREAMS_PER_PROCESS: open streams this process holds at most (then 503); 0: no cap. */
  maxStreams: number;
  /** Unsent bytes a slow client may have queued before it is dropped (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
}

export interface EventStreamsDeps {
  log: JobEventLog;
  auth: Authenticator;
  /** Whether `principal` may see job `jobId` (its owner and admins may); false for a job that does not exist. */
  canSee(principal: Principal, jobId: string): Promise<boolean>;
  metrics: Pick<ApiMetrics, 'streamOpened' | 'streamRefused' | 'eventRelayed'>;
  logger: Logger;
  config: EventStreamsConfig;
}

/** `/api/jobs/<id>/events`, as the Express router would match it: any case, an optional trailing slash, any query. */
const EVENTS_PATH = /^\/api\/jobs\/([^/?#]+)\/events\/?(?:\?(.*))?$/i;

/**
 * `GET /api/jobs/:id/events`: every job's events to this process's SSE clients, through one fan-out (one
 * reader and one encoding per event, whatever the number of clients), with one heartbeat timer and the
 * admission that sheds new streams under load. The route is served from node:http in front of Express:
 * an open stream then holds only its socket and Node's HTTP objects (Express's per-request state was about
 * a quarter of a stream's memory), and a connect storm of thousands costs no router work.
 *
 * It answers as the API's other routes do, in the same order: 401 (no valid key), 404 (an id that cannot
 * be a job's, or a job the caller may not see), 400 (a bad Last-Event-ID), then 503 with Retry-After when
 * the process sheds or is at its cap.
 */
export class EventStreams {
  readonly fanout: JobEventFanout;
  readonly admission: StreamAdmission;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly heartbeatFrame = Buffer.from(': ping\n\n');
  private readonly pidHeader = { 'X-Api-Pid': String(process.pid) };

  constructor(private readonly deps: EventStreamsDeps) {
    this.fanout = new JobEventFanout({
      log: deps.log,
      encode: encodeSseFrame,
      logger: deps.logger,
      onDelivered: (event) => deps.metrics.eventRelayed(event.at),
    });
    this.admission = new StreamAdmission({
      shedLagMs: deps.config.shedLagMs,
      maxStreams: deps.config.maxStreams,
      openStreams: () => this.fanout.streams,
    });
  }

  /** The node:http handler: serves the events route and returns true, or returns false for any other request. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET') return false;
    const match = EVENTS_PATH.exec(req.url ?? '');
    if (match === null) return false;
    this.open(req, res, match[1]!, match[2]).catch((err: unknown) => sendRequestError(res, err, this.deps.logger));
    return true;
  };

  private async open(req: IncomingMessage, res: ServerResponse, rawId: string, query: string | undefined): Promise<void> {
    const principal = bearerPrincipal(this.deps.auth, req.headers.authorization);
    if (principal === null) return refuseUnauthenticated(res);
    const id = parseJobId(decodePathSegment(rawId));
    const header = req.headers['last-event-id'];
    const afterId = parseLastEventId(typeof header === 'string' ? header : lastEventIdFromQuery(query));
    if (!(await this.deps.canSee(principal, id))) return sendError(res, 'not_found', `no job with id ${id}`);
    const refusal = this.admission.refusal();
    if (refusal) {
      this.deps.metrics.streamRefused(refusal.reason);
      // Not sendError's Retry-After (that one is the Redis outage's): this one carries jitter.
      res.setHeader('Retry-After', String(refusal.retryAfterSeconds));
      return sendJson(res, 503, { error: { code: 'unavailable', message: refusal.message } });
    }
    // The client may have gone while its job was looked up: nothing to open.
    if (res.socket === null || res.socket.destroyed) return;
    const sink = openSseSink(res, { maxBufferedBytes: this.deps.config.maxBufferedBytes, headers: this.pidHeader });
    const closed = this.deps.metrics.streamOpened();
    const detach = this.fanout.attach(id, sink, afterId === undefined ? {} : { afterId });
    res.once('close', () => {
      detach();
      closed();
    });
    this.keepHeartbeat();
  }

  /** One timer per process while any stream is open, not one per stream. */
  private keepHeartbeat(): void {
    if (this.heartbeat !== undefined || this.fanout.streams === 0) return;
    this.heartbeat = setInterval(() => {
      if (this.fanout.streams > 0) return void this.fanout.broadcast(this.heartbeatFrame);
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }, this.deps.config.heartbeatMs);
    this.heartbeat.unref();
  }
}

/** As Express decodes a route parameter; a segment that cannot be decoded is no job's id. */
function decodePathSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** `?lastEventId=`, when given once (a repeated parameter is ignored, as Express's query parser leaves it an array). */
function lastEventIdFromQuery(query: string | undefined): string | undefined {
  if (query === undefined) return undefined;
  const values = new URLSearchParams(query).getAll('lastEventId');
  return values.length === 1 ? values[0] : undefined;
}
