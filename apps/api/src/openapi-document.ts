import { OpenApiGeneratorV31, OpenAPIRegistry, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  CodeJobRequest,
  ErrorBody,
  ErrorCode,
  JobEvent,
  JobList,
  LegacyCodeRequest,
  MAX_JOB_LIST_LIMIT,
} from '@tinyb/contracts';
import {
  AgentList,
  CancelAccepted,
  Health,
  JobAccepted,
  JobStatusWithLinks,
  LegacyFrameSchema,
  Readiness,
  ServiceIndex,
  WebhookAccepted,
} from './api-responses.js';
import { JobListQuery } from './request-input.js';

/** The OpenAPI document as served at /openapi.json: plain JSON, OpenAPI 3.1. */
export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export interface OpenApiOptions {
  version: string;
  /** Routes mounted only in some deployments (a web console, GitHub webhooks) are documented when they are. */
  extraRoutes?: readonly ('webhooks' | 'console')[];
}

const ERROR_CODES_BY_STATUS = {
  400: ['invalid_request', 'invalid_repo_url', 'unknown_agent'],
  401: ['unauthorized'],
  404: ['not_found'],
  409: ['conflict'],
  413: ['invalid_request'],
  429: ['rate_limited', 'too_many_active_jobs'],
  503: ['unavailable'],
} as const satisfies Record<number, readonly ErrorCode[]>;
type ErrorStatus = keyof typeof ERROR_CODES_BY_STATUS;

/**
 * The API's OpenAPI 3.1 document, generated from the same zod schemas that parse requests and events (never
 * written by hand), so it cannot say something the code does not check. Named schemas become components:
 * JobStatus, JobList, ErrorBody, and one component per JobEvent type (`JobEvent.<type>`), which the event
 * stream's `JobEvent` is the discriminated union of.
 */
export function buildOpenApiDocument(opts: OpenApiOptions): OpenApiDocument {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key (API_KEYS, a tenant\'s) or the admin key (API_TOKEN). Absent when the API runs open.',
  });
  const basic = registry.registerComponent('securitySchemes', 'adminBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'Bull Board in a browser: any user name, the admin key (API_TOKEN) as password.',
  });
  const asBearer = [{ [bearer.name]: [] }];

  const error = ErrorBody.meta({ id: 'ErrorBody' });
  const eventVariants = JobEvent.options.map((variant) =>
    variant.meta({ id: `JobEvent.${variant.shape.type.value}`, description: variant.description }),
  );
  const jobEvent = z
    .discriminatedUnion('type', eventVariants as unknown as typeof JobEvent.options)
    .meta({ id: 'JobEvent', description: 'One progress event of a job; `type` names it. The last one is job.succeeded, job.failed or job.cancelled.' });
  const statusWithLinks = JobStatusWithLinks.meta({ id: 'JobStatusWithLinks' });
  const jobList = JobList.meta({ id: 'JobList' });
  const request = CodeJobRequest.meta({ id: 'CodeJobRequest' });
  const legacyFrame = LegacyFrameSchema.meta({ id: 'LegacyFrame' });

  const errors = (...statuses: ErrorStatus[]): Record<string, ResponseConfig> =>
    Object.fromEntries(
      statuses.map((s) => [
        String(s),
        {
          description: `Error: ${ERROR_CODES_BY_STATUS[s].join(', ')}${s === 503 ? ' (Redis unreachable; see Retry-After)' : ''}`,
          content: { 'application/json': { schema: error } },
          ...(s === 503 || s === 429 ? { headers: z.object({ 'Retry-After': z.string().describe('Seconds to wait') }) } : {}),
        },
      ]),
    );
  const json = (schema: z.ZodType, description: string): ResponseConfig => ({ description, content: { 'application/json': { schema } } });
  const jobIdParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).describe('The job id POST /api/jobs answered') });
  const rateLimitHeaders = z.object({
    'RateLimit-Limit': z.string().optional(),
    'RateLimit-Remaining': z.string().optional(),
    'RateLimit-Reset': z.string().optional(),
  });
  const sseResponse = (schema: z.ZodType, description: string, frames = '`id: <stream id>`, `event: <type>`, `data: <one JSON object of the schema>`'): ResponseConfig => ({
    description: `${description} Each frame is ${frames}; comments (\`: ping\`) keep the connection open.`,
    content: { 'text/event-stream': { schema } },
  });

  // Service routes: no key needed.
  registry.registerPath({ method: 'get', path: '/', summary: 'Name, version and links', security: [], responses: { 200: json(ServiceIndex, 'The service') } });
  registry.registerPath({ method: 'get', path: '/health', summary: 'Liveness', security: [], responses: { 200: json(Health, 'The process is up') } });
  registry.registerPath({
    method: 'get',
    path: '/ready',
    summary: 'Readiness: Redis reachable',
    security: [],
    responses: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Redis is unreachable') },
  });
  registry.registerPath({
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics (tinyb_*)',
    security: [],
    responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    security: [],
    responses: { 200: { description: 'OpenAPI 3.1', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } } },
  });
  registry.registerPath({
    method: 'get',
    path: '/docs',
    summary: 'A reference page rendered from this document',
    security: [],
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
  });

  registry.registerPath({
    method: 'post',
    path: '/api/jobs',
    summary: 'Queue a job: a prompt against a repository (or a follow-up on a pull request)',
    security: asBearer,
    request: {
      body: { required: true, content: { 'application/json': { schema: request } } },
      headers: z.object({
        'Idempotency-Key': z
          .string()
          .regex(/^[\x21-\x7e]{1,255}$/)
          .optional()
          .describe('Repeating a submit with the same key (same tenant) answers the first job instead of queueing another'),
      }),
    },
    responses: {
      202: { description: 'Queued', headers: rateLimitHeaders.extend({ Location: z.string() }), content: { 'application/json': { schema: JobAccepted } } },
      200: {
        description: 'An idempotent replay: the job this Idempotency-Key queued before',
        headers: z.object({ 'Idempotent-Replayed': z.literal('true'), Location: z.string() }),
        content: { 'application/json': { schema: JobAccepted } },
      },
      ...errors(400, 401, 404, 413, 429, 503),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/jobs',
    summary: 'List jobs, newest first (a tenant sees its own; the admin key sees all)',
    security: asBearer,
    request: { query: JobListQuery.extend({ limit: JobListQuery.shape.limit.describe(`1-${MAX_JOB_LIST_LIMIT}`) }) },
    responses: { 200: json(jobList, 'One page of jobs'), ...errors(400, 401, 503) },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/jobs/{id}',
    summary: 'A job\'s status',
    security: asBearer,
    request: { params: jobIdParams },
    responses: { 200: json(statusWithLinks, 'The job\'s status'), ...errors(401, 404, 503) },
  });
  registry.registerPath({
    method: 'delete',
    path: '/api/jobs/{id}',
    summary: 'Cancel a job',
    security: asBearer,
    request: { params: jobIdParams },
    responses: { 202: json(CancelAccepted, 'Cancel requested'), ...errors(401, 404, 409, 503) },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/jobs/{id}/events',
    summary: 'The job\'s events as Server-Sent Events, from the start or after Last-Event-ID, until its terminal event',
    security: asBearer,
    request: {
      params: jobIdParams,
      query: z.object({ lastEventId: z.string().optional().describe('For clients that cannot set Last-Event-ID') }),
      headers: z.object({ 'Last-Event-ID': z.string().regex(/^\d{1,20}-\d{1,20}$/).optional().describe('Resume after this event') }),
    },
    responses: { 200: sseResponse(jobEvent, 'Every event of the job, in order, each once.'), ...errors(400, 401, 404, 503) },
  });
  registry.registerPath({
    method: 'get',
    path: '/api/agents',
    summary: 'The agents this deployment knows, with the live workers offering each',
    security: asBearer,
    responses: { 200: json(AgentList, 'Known agents'), ...errors(401, 503) },
  });
  for (const path of ['/code', '/api/code']) {
    registry.registerPath({
      method: 'post',
      path,
      summary: 'The original Tiny Backspace API: queue a job and stream its progress in the original vocabulary',
      security: asBearer,
      request: { body: { required: true, content: { 'application/json': { schema: LegacyCodeRequest } } } },
      responses: {
        200: { ...sseResponse(legacyFrame, 'The job\'s progress until `complete` or `error`.', '`data: <one JSON object of the schema>`'), headers: z.object({ 'X-Job-Id': z.string() }) },
        ...errors(400, 401, 429, 503),
      },
    });
  }
  registry.registerPath({
    method: 'get',
    path: '/admin/queues',
    summary: 'Bull Board (admin key only)',
    security: [{ [basic.name]: [] }, { [bearer.name]: [] }],
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } }, ...errors(401) },
  });
  if (opts.extraRoutes?.includes('webhooks')) {
    registry.registerPath({
      method: 'post',
      path: '/webhooks/github',
      summary: 'GitHub webhook deliveries (signed with the webhook secret; no API key)',
      security: [],
      request: {
        headers: z.object({ 'X-Hub-Signature-256': z.string(), 'X-GitHub-Event': z.string(), 'X-GitHub-Delivery': z.string() }),
        body: { content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
      },
      responses: {
        202: json(WebhookAccepted, 'Delivery taken: a job queued, a repeat of a delivery already taken, or nothing to do'),
        ...errors(400, 401),
      },
    });
  }
  if (opts.extraRoutes?.includes('console')) {
    registry.registerPath({
      method: 'get',
      path: '/ui/',
      summary: 'The web console (static files)',
      security: [],
      responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Tiny Backspace',
      version: opts.version,
      description: 'Prompt to pull request: queue a coding job against a repository and follow its progress.',
    },
    security: asBearer,
  });
}

