import express, { type Express, type Request, type RequestHandler, type Response, type Router } from 'express';
import { Authenticator, type ApiKeyEntry, type Principal } from '@tinyb/auth';
import { BUILT_IN_AGENTS, CodeJobRequest, LegacyCodeRequest, isTerminalEvent, type JobStatus } from '@tinyb/contracts';
import {
  AppError,
  RateLimitedError,
  type ActiveJobSlots,
  type AgentCatalog,
  type JobDirectory,
  type JobEventPublisher,
  type JobEventSubscriber,
  type JobQueue,
  type JobStatusReader,
  type Logger,
  type RateLimitDecision,
  type SubmitRateLimiter,
} from '@tinyb/core';
import type { GitHubWebhookHandler } from '@tinyb/github-triggers';
import { ApiMetrics, type JobTraceContext, type Tracing } from '@tinyb/runtime';
import { authenticate, principalOf, requireAdmin } from './authenticate.js';
import { errorHandler, rateLimitHeaders, sendError } from './http-errors.js';
import { cachedFor } from './cached-for.js';
import { knownAgentsWithWorkers } from './known-agents.js';
import { LegacyTranslator } from './legacy-events.js';
import { jobIdParam, jobListQuery, lastEventId, parseBody } from './request-input.js';
import { encodeSseFrame, openSse, openSseSink } from './sse.js';
import { StreamAdmission } from './stream-admission.js';
import { JobEventFanout, type JobEventLog } from '@tinyb/events';
import { toJobData } from './to-job-data.js';
import { resolveFollowUp } from './follow-up-request.js';
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

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

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
  app.use(express.json({ limit: '256kb', strict: true }));

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
  // Every job's events reach this process's clients through one fan-out: one reader and one encoding per event.
  const fanout = new JobEventFanout({
    log: events,
    encode: encodeSseFrame,
    logger,
    onDelivered: (event) => metrics.eventRelayed(event.at),
  });
  const admission = new StreamAdmission({
    shedLagMs: config.sseShedLagMs ?? 0,
    maxStreams: config.maxStreamsPerProcess ?? 0,
    openStreams: () => fanout.streams,
  });
  // One heartbeat timer per process while any stream is open, not one per stream.
  let heartbeat: NodeJS.Timeout | undefined;
  const heartbeatFrame = Buffer.from(': ping\n\n');
  const keepHeartbeat = () => {
    if (fanout.streams > 0 && heartbeat === undefined) {
      heartbeat = setInterval(() => {
        if (fanout.streams === 0) {
          clearInterval(heartbeat);
          heartbeat = undefined;
        } else void fanout.broadcast(heartbeatFrame);
      }, config.sseHeartbeatMs);
      heartbeat.unref();
    }
  };
  const metrics = new ApiMetrics({
    eventLoopLagMs: () => admission.lagMs(),
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
  const maxActive = config.maxActiveJobsPerTenant ?? 0;

  /**
   * A new job's admission, run only once the job is known to be new (an idempotent replay never gets
   * here, so it is never refused): the tenant's submit rate, then a slot among its active jobs.
   * Returns whether a slot was claimed, and the rate decision for the response headers.
   */
  const admit = async (principal: Principal, jobId: string) => {
    if (principal.admin) return { claimed: false, decision: undefined };
    const decision = await deps.rateLimiter?.consume(principal.tenant);
    if (decision && !decision.allowed) throw new RateLimitedError(decision);
    if (maxActive > 0 && !(await events.claimActiveSlot(principal.tenant, jobId, maxActive))) {
      throw new AppError(
        'too_many_active_jobs',
        `tenant ${principal.tenant} already has ${maxActive} jobs queued or running; wait for one to finish or cancel one`,
      );
    }
    return { claimed: maxActive > 0, decision };
  };

  /** Validates a request, turns it into job data and enqueues it with `job.queued` recorded first. */
  const submit = (req: Request, res: Response, body: CodeJobRequest) =>
    deps.tracing
      ? deps.tracing.enqueue({ 'tinyb.tenant': principalOf(res).tenant }, (trace) => submitTraced(req, res, body, trace))
      : submitTraced(req, res, body, undefined);
  const submitTraced = async (req: Request, res: Response, body: CodeJobRequest, trace: JobTraceContext | undefined) => {
    const principal = principalOf(res);
    // Most submits are not follow-ups: no timer, no lookups for them.
    const isFollowUp = body.pr_url !== undefined || body.parent_job_id !== undefined;
    const followUp = !isFollowUp ? undefined : await resolveFollowUp(body, {
      githubUrl: config.githubUrl,
      visibleStatus: (id) => visibleStatus(res, id),
      ...(deps.pullRequestPreflight ? { preflight: deps.pullRequestPreflight } : {}),
      signal: AbortSignal.timeout(10_000),
    });
    const data = { ...toJobData(body, jobDefaults, followUp), tenant: principal.tenant, ...(trace ? { traceparent: trace.traceparent } : {}) };
    const idempotencyKey = req.get('Idempotency-Key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError('invalid_request', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    let claimedSlot: { jobId: string } | undefined;
    let decision: RateLimitDecision | undefined;
    // Admission only for those it can refuse: an admin's (or an open API's) submit is one Redis round trip.
    const admitted = !principal.admin && (deps.rateLimiter !== undefined || maxActive > 0);
    try {
      const enqueued = await queue.enqueue(data, {
        // Scoped to the tenant: one tenant's key can neither replay nor reveal another tenant's job.
        ...(idempotencyKey === undefined ? {} : { idempotencyKey: `${principal.tenant}:${idempotencyKey}` }),
        // Recorded with the job, atomically: never a queued job without it, nor it without the job.
        announce: {
          via: events,
          event: {
            type: 'job.queued',
            repoUrl: data.repo.url,
            agent: data.agent,
            draft: data.draft,
            tenant: principal.tenant,
            ...(data.baseBranch === undefined ? {} : { baseBranch: data.baseBranch }),
            ...(trace ? { traceId: trace.traceId } : {}),
          },
        },
        ...(admitted
          ? {
              beforeAdd: async (jobId: string) => {
                const admission = await admit(principal, jobId);
                decision = admission.decision;
                if (admission.claimed) claimedSlot = { jobId };
              },
            }
          : {}),
      });
      if (decision) res.set(rateLimitHeaders(decision));
      if (enqueued.created) metrics.jobSubmitted(data.agent);
      return enqueued;
    } catch (err) {
      // Neither queued nor announced (enqueue is all or nothing): a slot claimed for it is given back.
      if (claimedSlot !== undefined) await events.releaseActiveSlot(principal.tenant, claimedSlot.jobId).catch(() => undefined);
      throw err;
    }
  };

  /**
   * The job's status if the caller may see it: its owner and admins may. Anyone else gets exactly what an
   * unknown id gets, so job ids of other tenants cannot even be confirmed to exist.
   */
  const visibleStatus = async (res: Response, id: string): Promise<JobStatus | null> => {
    const status = await events.getStatus(id);
    const principal = principalOf(res);
    if (status === null || (!principal.admin && status.tenant !== principal.tenant)) return null;
    return status;
  };
  const notFound = (res: Response, id: string) => sendError(res, 'not_found', `no job with id ${id}`);

  api.post('/jobs', async (req, res) => {
    const body = parseBody(CodeJobRequest, req.body);
    const { jobId, created } = await submit(req, res, body);
    if (created) logger.info({ jobId, agent: body.agent ?? config.defaultAgent, tenant: principalOf(res).tenant }, 'job queued');
    // Written directly: res.json would also hash the body for an ETag nobody revalidates a POST with.
    const payload = JSON.stringify({ id: jobId, status: 'queued', links: jobLinks(jobId) });
    res.statusCode = created ? 202 : 200;
    if (!created) res.setHeader('Idempotent-Replayed', 'true');
    res.setHeader('Location', `/api/jobs/${jobId}`);
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.setHeader('Content-Length', Buffer.byteLength(payload));
    res.end(payload);
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

  api.get('/jobs/:id/events', async (req, res) => {
    const id = jobIdParam(req);
    const afterId = lastEventId(req);
    if (!(await visibleStatus(res, id))) return notFound(res, id);
    const refusal = admission.refusal();
    if (refusal) {
      metrics.streamRefused(refusal.reason);
      // Not sendError: its Retry-After is the Redis outage's, and this one carries jitter.
      res.status(503).set('Retry-After', String(refusal.retryAfterSeconds)).json({ error: { code: 'unavailable', message: refusal.message } });
      return;
    }
    res.setHeader('X-Api-Pid', String(process.pid));
    const { sink, signal } = openSseSink(req, res, { maxBufferedBytes: config.sseMaxBufferedBytes ?? 1024 * 1024 });
    trackStream({ signal });
    const detach = fanout.attach(id, sink, afterId ? { afterId } : {});
    signal.addEventListener('abort', detach, { once: true });
    keepHeartbeat();
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
    const { jobId } = await submit(req, res, body);
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
  return app;
}

function jobLinks(id: string) {
  return { self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events` };
}

