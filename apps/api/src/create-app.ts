import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type RequestHandler, type Response, type Router } from 'express';
import { Authenticator, type ApiKeyEntry, type Principal } from '@tinyb/auth';
import { BUILT_IN_AGENTS, CodeJobRequest, LegacyCodeRequest, isTerminalEvent, type JobStatus } from '@tinyb/contracts';
import {
  type ActiveJobSlots,
  type AgentCatalog,
  type JobDirectory,
  type JobEventPublisher,
  type JobEventSubscriber,
  type JobQueue,
  type JobStatusReader,
  type Logger,
  type SubmitRateLimiter,
} from '@tinyb/core';
import type { GitHubWebhookHandler } from '@tinyb/github-triggers';
import { ApiMetrics, type Tracing } from '@tinyb/runtime';
import { authenticate, principalOf, requireAdmin } from './authenticate.js';
import { errorHandler, sendError } from './http-errors.js';
import { cachedByKeyFor, cachedFor } from './cached-for.js';
import { knownAgentsWithWorkers } from './known-agents.js';
import { LegacyTranslator } from './legacy-events.js';
import { jobIdParam, jobListQuery, parseBody } from './request-input.js';
import { openSse } from './sse.js';
import { EventStreams } from './event-streams.js';
import type { JobEventLog } from '@tinyb/events';
import { createJobSubmission, jobLinks } from './job-submission.js';
import { submitFastPath } from './submit-fast-path.js';
import type { PullRequestPreflight } from './github-pull-request-preflight.js';
import { webConsole } from './web-console.js';
import { githubWebhookRoute } from './github-webhook-route.js';
import { buildOpenApiDocument } from './openapi-document.js';
import { renderReferencePage } from './openapi-reference-page.js';

export interface ApiConfig {
  name: string;
  version: string;
  githubUrl: string;
  defaultAgent: string;
  /**
   * The agents this deployment accepts jobs for (KNOWN_AGENTS), whether or not a worker that has one runs:
   * its jobs wait in its queue. Default: the built-in agents.
   */
  knownAgents?: readonly string[];
  /** The admin key (API_TOKEN): sees every job, opens Bull Board. */
  apiToken?: string;
  /** The tenants' keys (API_KEYS, parsed). With neither these nor apiToken, the API is open: everyone is admin. */
  apiKeys?: readonly ApiKeyEntry[];
  /** Jobs a tenant may have queued or running at once; 0 or absent: no cap. Admins are not capped. */
  maxActiveJobsPerTenant?: number;
  sseHeartbeatMs: number;
  /** SSE_SHED_LAG_MS: above this event-loop lag new event streams get 503 with Retry-After; 0 or absent: never. */
  sseShedLagMs?: number;
  /** MAX_STREAMS_PER_PROCESS: open event streams this process holds at most (then 503); 0 or absent: no cap. */
  maxStreamsPerProcess?: number;
  /** Unsent bytes a slow SSE client may have queued before it is dropped (it resumes with Last-Event-ID). Default 1 MiB. */
  sseMaxBufferedBytes?: number;
  /** The web console's build (apps/web/dist), served under /ui/; absent: no console. */
  webDistDir?: string;
}

export interface ApiDeps {
  config: ApiConfig;
  queue: JobQueue;
  events: JobEventPublisher & JobEventSubscriber & JobStatusReader & JobDirectory & ActiveJobSlots & JobEventLog;
  /** Submits per tenant per minute; absent: no rate limit. Admins are not limited. */
  rateLimiter?: SubmitRateLimiter;
  /** How many live workers offer each agent (they hold the credentials): shown, never a reason to refuse a job. */
  agents: AgentCatalog;
  logger: Logger;
  /** Bull Board, built by main.ts from the BullMQ queue. */
  adminRouter?: Router;
  /** Tracing (OTEL_EXPORTER_OTLP_ENDPOINT): each submit is a `job.enqueue` span whose context the job carries. */
  tracing?: Pick<Tracing, 'enqueue'>;
  /**
   * Read access to GitHub for follow-ups (GITHUB_TOKEN on the API): a closed or fork PR is refused at submit time
   * and the head pinned. Absent, follow-ups are judged by the worker only (the job fails with the same codes).
   */
  pullRequestPreflight?: PullRequestPreflight;
  /** `POST /webhooks/github`, built by main.ts when GITHUB_WEBHOOK_SECRET is set; absent, the route does not exist (404). */
  githubWebhooks?: GitHubWebhookHandler;
}

/** express.json's limit, which the submit fast path keeps too. */
const MAX_JSON_BODY_BYTES = 256 * 1024;

export function createApp(deps: ApiDeps): Express {
  const { config, queue, events, logger } = deps;
  const knownAgents = config.knownAgents ?? BUILT_IN_AGENTS;
  const jobDefaults = { githubUrl: config.githubUrl, defaultAgent: config.defaultAgent, knownAgents };
  const offeredAgents = cachedFor(1_000, () => deps.agents.offeredAgents());
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Before the JSON parser: the signature covers the raw body.
  if (deps.githubWebhooks) app.post('/webhooks/github', ...githubWebhookRoute(deps.githubWebhooks));
  app.use(express.json({ limit: MAX_JSON_BODY_BYTES, strict: true }));

  app.get('/', (_req, res) => {
    res.json({
      name: config.name,
      version: config.version,
      links: { jobs: '/api/jobs', agents: '/api/agents', health: '/health', ready: '/ready', metrics: '/metrics', openapi: '/openapi.json', docs: '/docs', admin: '/admin/queues', legacy: '/code' },
    });
  });
  // Generated from the zod schemas once per app; /docs renders it, so both always agree with the code.
  const openApi = buildOpenApiDocument({ version: config.version, extraRoutes: [...(deps.githubWebhooks ? (['webhooks'] as const) : []), ...(config.webDistDir === undefined ? [] : (['console'] as const))] });
  const referencePage = renderReferencePage(openApi);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.get('/docs', (_req, res) => {
    res.type('html').send(referencePage);
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Prometheus scrape target (tinyb_*, see README): queue depths and workers per known agent are read from
  // Redis at scrape time; streams, relay lag and submits are counted here.
  const metrics = new ApiMetrics({
    eventLoopLagMs: (): number => eventStreams.admission.lagMs(),
    queueJobCounts: () => queue.jobCounts(),
    agentWorkers: async () => knownAgentsWithWorkers(knownAgents, await deps.agents.offeredAgents()).map((a) => ({ agent: a.name, workers: a.workers })),
  });
  const trackStream = (sse: { signal: AbortSignal }) => metrics.trackStream(sse.signal);
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.contentType).send(await metrics.metrics());
  });

  app.get('/ready', async (_req, res) => {
    const ready = await queue.isReady().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', redis: ready });
  });

  const auth = new Authenticator({
    ...(config.apiToken === undefined ? {} : { adminToken: config.apiToken }),
    apiKeys: config.apiKeys ?? [],
  });
  if (deps.adminRouter) app.use('/admin/queues', requireAdmin(auth), deps.adminRouter);

  const api = express.Router();
  api.use(authenticate(auth));
  /**
   * The job's status if the caller may see it: its owner and admins may. Anyone else gets exactly what an
   * unknown id gets, so job ids of other tenants cannot even be confirmed to exist.
   */
  const statusVisibleTo = async (principal: Principal, id: string): Promise<JobStatus | null> => {
    const status = await events.getStatus(id);
    if (status === null || (!principal.admin && status.tenant !== principal.tenant)) return null;
    return status;
  };
  const visibleStatus = (res: Response, id: string) => statusVisibleTo(principalOf(res), id);
  const submission = createJobSubmission({
    jobDefaults,
    queue,
    events,
    rateLimiter: deps.rateLimiter,
    maxActiveJobsPerTenant: config.maxActiveJobsPerTenant ?? 0,
    tracing: deps.tracing,
    pullRequestPreflight: deps.pullRequestPreflight,
    metrics,
    logger,
    statusVisibleTo,
  });
  const notFound = (res: Response, id: string) => sendError(res, 'not_found', `no job with id ${id}`);
  // A job's owner never changes: a connect storm of thousands of streams on one job costs one status read a second.
  // Null: no such job. A job queued before tenants existed has a null owner (only admins see it).
  const jobOwner = cachedByKeyFor(
    1_000,
    async (id: string) => {
      const status = await events.getStatus(id);
      return status === null ? null : { tenant: status.tenant };
    },
    { keep: (owner) => owner !== null },
  );
  // GET /api/jobs/:id/events, served in front of Express (see the end of this function).
  const eventStreams = new EventStreams({
    log: events,
    auth,
    canSee: async (principal, id) => {
      const owner = await jobOwner(id);
      return owner !== null && (principal.admin || owner.tenant === principal.tenant);
    },
    metrics,
    logger,
    config: {
      heartbeatMs: config.sseHeartbeatMs,
      shedLagMs: config.sseShedLagMs ?? 0,
      maxStreams: config.maxStreamsPerProcess ?? 0,
      maxBufferedBytes: config.sseMaxBufferedBytes ?? 1024 * 1024,
    },
  });

  // Most submits never get here: submitFastPath (installed below) serves them in front of Express.
  api.post('/jobs', async (req, res) => {
    const body = parseBody(CodeJobRequest, req.body);
    await submission.accept({ principal: principalOf(res), body, idempotencyKey: req.get('Idempotency-Key'), res });
  });

  api.get('/agents', async (_req, res) => {
    const agents = knownAgentsWithWorkers(knownAgents, await offeredAgents());
    res.json({ default: config.defaultAgent, agents: agents.map((a) => ({ ...a, default: a.name === config.defaultAgent })) });
  });

  api.get('/jobs', async (req, res) => {
    const query = jobListQuery(req);
    const principal = principalOf(res);
    const page = await events.listJobs({ ...query, ...(principal.admin ? {} : { tenant: principal.tenant }) });
    res.json({
      jobs: page.jobs.map((s) => ({
        id: s.id,
        state: s.state,
        agent: s.agent,
        repoUrl: s.repoUrl,
        createdAt: s.createdAt,
        finishedAt: s.finishedAt,
        prUrl: s.result?.pr?.url ?? null,
        tenant: s.tenant,
      })),
      next_cursor: page.nextCursor,
    });
  });

  api.get('/jobs/:id', async (req, res) => {
    const id = jobIdParam(req);
    const status = await visibleStatus(res, id);
    if (!status) return notFound(res, id);
    res.json({ ...status, links: jobLinks(id) });
  });

  api.delete('/jobs/:id', async (req, res) => {
    const id = jobIdParam(req);
    const status = await visibleStatus(res, id);
    if (!status) return notFound(res, id);
    if (status.state === 'succeeded' || status.state === 'failed' || status.state === 'cancelled') {
      return sendError(res, 'conflict', `job ${id} already ${status.state}`);
    }
    if (!status.cancelRequested) await events.publish(id, { type: 'job.cancel_requested' });
    const { removedBeforeStart } = await queue.requestCancel(id);
    // A job removed before any worker took it has nobody else to record its end.
    if (removedBeforeStart) await events.publish(id, { type: 'job.cancelled' });
    logger.info({ jobId: id, removedBeforeStart }, 'job cancel requested');
    res.status(202).json({ id, status: removedBeforeStart ? 'cancelled' : 'cancelling', links: jobLinks(id) });
  });

  /**
   * The original Tiny Backspace API: enqueue and stream the job's progress in the same response,
   * in the original vocabulary.
   */
  const legacyCode: RequestHandler = async (req, res) => {
    const body = parseBody(LegacyCodeRequest, req.body);
    const { jobId } = await submission.submit({ principal: principalOf(res), body, idempotencyKey: req.get('Idempotency-Key'), res });
    res.setHeader('X-Job-Id', jobId);
    const sse = openSse(req, res, { heartbeatMs: config.sseHeartbeatMs });
    trackStream(sse);
    const translator = new LegacyTranslator();
    try {
      for await (const { event } of events.subscribe(jobId, { signal: sse.signal })) {
        for (const frame of translator.translate(event)) await sse.send({ data: frame });
        if (isTerminalEvent(event)) break;
      }
    } finally {
      sse.end();
    }
  };
  api.post('/code', legacyCode);

  if (config.webDistDir !== undefined) app.use('/ui', webConsole(config.webDistDir));
  app.use('/api', api);
  app.post('/code', authenticate(auth), legacyCode);

  app.use((_req, res) => sendError(res, 'not_found', 'no such route'));
  app.use(errorHandler(logger));

  // In front of the whole Express app (the app function calls app.handle for each request, app.listen included):
  // a plain submit skips Express's router and body parser, an event stream is served without Express at all;
  // anything else goes on to Express untouched.
  const fastSubmit = submitFastPath({ auth, submission, logger, maxBodyBytes: MAX_JSON_BODY_BYTES });
  const expressApp = app as Express & { handle: (req: IncomingMessage, res: ServerResponse, next?: unknown) => void };
  const handleWithExpress = expressApp.handle.bind(app);
  expressApp.handle = (req, res, next) => {
    if (!fastSubmit(req, res) && !eventStreams.handle(req, res)) handleWithExpress(req, res, next);
  };
  return app;
}

