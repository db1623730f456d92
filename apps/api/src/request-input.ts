import type { Request } from 'express';
import { DEFAULT_JOB_LIST_LIMIT, JobState, MAX_JOB_LIST_LIMIT } from '@tinyb/contracts';
import { AppError } from '@tinyb/core';
import { z } from 'zod';

const STREAM_ID = /^\d{1,20}-\d{1,20}$/;
const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Parsing of what a request carries, at the edge: each refusal is an AppError the error handler maps to 4xx. */

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object') {
    throw new AppError('invalid_request', 'request body must be a JSON object (Content-Type: application/json)');
  }
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const message = parsed.error.issues
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  throw new AppError('invalid_request', message);
}

export function jobIdParam(req: Request): string {
  return parseJobId(req.params['id']);
}

/** A job id from a path; anything that cannot be one is a job that does not exist. */
export function parseJobId(id: unknown): string {
  if (typeof id !== 'string' || !JOB_ID.test(id)) throw new AppError('not_found', 'no such job');
  return id;
}

/**
 * The resume point of an event stream: `Last-Event-ID` as browsers send it on reconnect, or `?lastEventId=`
 * for clients that cannot set headers (the header wins); empty means from the start.
 */
export function parseLastEventId(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!STREAM_ID.test(value)) throw new AppError('invalid_request', 'Last-Event-ID must be an event id such as 1700000000000-0');
  return value;
}

/** The query of `GET /api/jobs` (also in the OpenAPI document). */
export const JobListQuery = z.object({
  state: JobState.optional(),
  limit: z.coerce.number().int().min(1).max(MAX_JOB_LIST_LIMIT).default(DEFAULT_JOB_LIST_LIMIT),
  cursor: z.string().min(1).max(512).optional(),
});

/** `GET /api/jobs?state=&limit=&cursor=`; a repeated parameter or a bad value is a 400. */
export function jobListQuery(req: Request): { state?: JobState; limit: number; cursor?: string } {
  const parsed = JobListQuery.safeParse(req.query);
  if (!parsed.success) {
    const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ');
    throw new AppError('invalid_request', message);
  }
  const { state, limit, cursor } = parsed.data;
  return { limit, ...(state === undefined ? {} : { state }), ...(cursor === undefined ? {} : { cursor }) };
}
