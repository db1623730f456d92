import type { ErrorCode } from '@tinyb/contracts';
import { AppError, RateLimitedError, type RateLimitDecision } from '@tinyb/core';
import { isRedisUnavailableError } from '@tinyb/queue';
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '@tinyb/core';

/** What a 503 tells clients to wait: about how long ioredis takes to notice Redis is back and reconnect. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/** The one mapping from error codes to HTTP statuses. */
export function httpStatusFor(code: ErrorCode): number {
  switch (code) {
    case 'invalid_request':
    case 'invalid_repo_url':
    case 'unknown_agent':
      return 400;
    case 'unauthorized':
      return 401;
    case 'not_found':
      return 404;
    case 'conflict':
    case 'pr_closed':
    case 'pr_branch_moved':
      return 409;
    case 'pr_from_fork':
      return 422;
    case 'rate_limited':
    case 'too_many_active_jobs':
      return 429;
    case 'unavailable':
      return 503;
    case 'repo_not_found':
    case 'repo_access_denied':
    case 'branch_not_found':
    case 'clone_failed':
    case 'sandbox_unavailable':
    case 'sandbox_failed':
    case 'agent_failed':
    case 'agent_timeout':
    case 'agent_max_turns':
    case 'budget_exceeded':
    case 'git_host_failed':
    case 'job_timeout':
    case 'worker_lost':
    case 'cancelled':
    case 'internal':
      return 500;
  }
}

/**
 * A JSON body with its status, written on the bare node:http response: Express routes and the submit fast path
 * (submit-fast-path.ts) answer through here, so their responses are the same bytes. Not res.json: it would also
 * hash every body for an ETag that nobody revalidates an API answer with.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(payload));
  res.end(payload);
}

export function sendError(res: ServerResponse, code: ErrorCode, message: string, details?: unknown): void {
  if (code === 'unavailable') res.setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  sendJson(res, httpStatusFor(code), { error: { code, message, ...(details === undefined ? {} : { details }) } });
}

/** The RateLimit-* headers of the IETF draft (delta-seconds reset), on every counted submit. */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  return {
    'RateLimit-Limit': String(decision.limit),
    'RateLimit-Remaining': String(decision.remaining),
    'RateLimit-Reset': String(Math.max(0, Math.ceil(decision.resetMs / 1000))),
  };
}

/** Errors thrown by handlers and by body parsing end up here, as `{ error: { code, message } }`. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => sendRequestError(res, err, logger);
}

/** The one mapping from whatever a request's handling threw to its answer (Express's error handler and the fast path). */
export function sendRequestError(res: ServerResponse, err: unknown, logger: Logger): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  if (err instanceof RateLimitedError) {
    setHeaders(res, { ...rateLimitHeaders(err.decision), 'Retry-After': String(Math.max(1, Math.ceil(err.decision.resetMs / 1000))) });
  }
  if (err instanceof AppError) {
    if (httpStatusFor(err.code) >= 500) logger.error({ err }, 'request failed');
    sendError(res, err.code, err.message);
    return;
  }
  // The API's Redis connection fails fast instead of queueing commands while Redis is away (see main.ts):
  // that is an outage to wait out, not a bug, so the client hears 503 and when to try again.
  if (isRedisUnavailableError(err)) {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'request failed: redis unavailable');
    return sendError(res, 'unavailable', 'the service cannot reach its database right now; try again shortly');
  }
  // body-parser marks its own errors with `type` and `status`.
  const type = typeof err === 'object' && err !== null && 'type' in err ? err.type : undefined;
  if (type === 'entity.parse.failed') return sendError(res, 'invalid_request', 'request body is not valid JSON');
  if (type === 'entity.too.large') return sendJson(res, 413, { error: { code: 'invalid_request', message: 'request body is too large' } });
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return sendError(res, 'invalid_request', 'unsupported request body encoding');
  }
  // Any other failure to read the body is the client's (a corrupt gzip, deflate or br stream, an aborted
  // upload): body-parser raises those as http-errors with a 4xx status and `expose`, and no `type`.
  if (isClientHttpError(err)) return sendError(res, 'invalid_request', 'request body could not be read');
  logger.error({ err }, 'unhandled request error');
  sendError(res, 'internal', 'internal error');
}

export function setHeaders(res: ServerResponse, headers: Record<string, string>): void {
  for (const name in headers) res.setHeader(name, headers[name] ?? '');
}

function isClientHttpError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true;
}
