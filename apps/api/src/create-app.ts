import express, { type Express, type Request, type RequestHandler, type Router } from 'express';
import { CodeJobRequest, LegacyCodeRequest, isTerminalEvent } from '@tinyb/contracts';
import {
  AppError,
  type AgentCatalog,
  type JobEventPublisher,
  type JobEventSubscriber,
  type JobQueue,
  type JobStatusReader,
  type Logger,
} from '@tinyb/core';
import { errorHandler, sendError } from './http-errors.js';
import { cachedFor } from './cached-for.js';
import { LegacyTranslator } from './legacy-events.js';
import { gaugeFamily } from './prometheus.js';
import { jobIdParam, lastEventId, parseBody } from './request-input.js';
import { requireToken } from './require-token.js';
import { openSse } from './sse.js';
import { toJobData } from './to-job-data.js';

export interface ApiConfig {
  name: string;
  version: string;
  githubUrl: string;
  defaultAgent: string;
  apiToken?: string;
  sseHeartbeatMs: number;
}

export interface ApiDeps {
  config: ApiConfig;
  queue: JobQueue;
  events: JobEventPublisher & JobEventSubscriber & JobStatusReader;
  /** Which agents the workers offer (they hold the credentials, so they are the ones to say). */
  agents: AgentCatalog;
  logger: Logger;
  /** Bull Board, built by main.ts from the BullMQ queue. */
  adminRouter?: Router;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function createApp(deps: ApiDeps): Express {
  const { config, queue, events, logger } = deps;
  const offeredAgents = cachedFor(1_000, () => deps.agents.offeredAgents());
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(express.json({ limit: '256kb', strict: true }));

  app.get('/', (_req, res) => {
    res.json({
      name: config.name,
      version: config.version,
      links: { jobs: '/api/jobs', agents: '/api/agents', health: '/health', ready: '/ready', metrics: '/metrics', admin: '/admin/queues', legacy: '/code' },
    });
  });
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  // Prometheus scrape target: the queue's job counts, live workers and open event streams.
  let openStreams = 0;
  const trackStream = (sse: { signal: AbortSignal }) => {
    openStreams += 1;
    sse.signal.addEventListener('abort', () => (openStreams -= 1), { once: true });
  };
  app.get('/metrics', async (_req, res) => {
    const [queueMetrics, agents] = await Promise.all([queue.exportMetrics(), deps.agents.offeredAgents()]);
    res.type('text/plain; version=0.0.4').send(
      [
        queueMetrics.trimEnd(),
        gaugeFamily('tinyb_sse_streams_open', 'Event streams (SSE) open on this API process', [['', openStreams]]),
        gaugeFamily(
          'tinyb_agent_workers',
          'Live workers offering each agent',
          agents.map((a) => [`{agent="${a.name}"}`, a.workers]),
        ),
      ].join('\n') + '\n',
    );
  });

  app.get('/ready', async (_req, res) => {
    const ready = await queue.isReady().catch(() => false);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', redis: ready });
  });

  const auth = requireToken(config.apiToken);
  if (deps.adminRouter) app.use('/admin/queues', auth, deps.adminRouter);

  const api = express.Router();
  api.use(auth);

  /** Validates a request, turns it into job data and enqueues it with `job.queued` recorded first. */
  const submit = async (req: Request, body: CodeJobRequest) => {
    const data = toJobData(body, config, await offeredAgents());
    const idempotencyKey = req.get('Idempotency-Key');
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new AppError('invalid_request', 'Idempotency-Key must be 1-255 visible ASCII characters');
    }
    let recordedJobId: string | undefined;
    try {
      return await queue.enqueue(data, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        beforeAdd: async (jobId) => {
          await events.publish(jobId, {
            type: 'job.queued',
            repoUrl: data.repo.url,
            agent: data.agent,
            draft: data.draft,
            ...(data.baseBranch === undefined ? {} : { baseBranch: data.baseBranch }),
          });
          recordedJobId = jobId;
        },
      });
    } catch (err) {
      // The job was announced but never reached the queue: end its log, so nobody waits for it forever.
      if (recordedJobId !== undefined) {
        await events
          .publish(recordedJobId, { type: 'job.failed', error: { code: 'internal', message: 'the job could not be queued' } })
          .catch(() => undefined);
      }
      throw err;
    }
  };

  api.post('/jobs', async (req, res) => {
    const body = parseBody(CodeJobRequest, req.body);
    const { jobId, created } = await submit(req, body);
    if (created) logger.info({ jobId, agent: body.agent ?? config.defaultAgent }, 'job queued');
    res
      .status(created ? 202 : 200)
      .set(created ? {} : { 'Idempotent-Replayed': 'true' })
      .location(`/api/jobs/${jobId}`)
      .json({ id: jobId, status: 'queued', links: jobLinks(jobId) });
  });

  api.get('/agents', async (_req, res) => {
    const agents = await offeredAgents();
    res.json({ default: config.defaultAgent, agents: agents.map((a) => ({ ...a, default: a.name === config.defaultAgent })) });
  });

  api.get('/jobs/:id', async (req, res) => {
    const id = jobIdParam(req);
    const status = await events.getStatus(id);
    if (!status) return sendError(res, 'not_found', `no job with id ${id}`);
    res.json({ ...status, links: jobLinks(id) });
  });

  api.get('/jobs/:id/events', async (req, res) => {
    const id = jobIdParam(req);
    const afterId = lastEventId(req);
    if (!(await events.getStatus(id))) return sendError(res, 'not_found', `no job with id ${id}`);
    const sse = openSse(req, res, { heartbeatMs: config.sseHeartbeatMs });
    trackStream(sse);
    try {
      for await (const { id: eventId, event } of events.subscribe(id, { ...(afterId ? { afterId } : {}), signal: sse.signal })) {
        await sse.send({ id: eventId, event: event.type, data: event });
      }
    } finally {
      sse.end();
    }
  });

  api.delete('/jobs/:id', async (req, res) => {
    const id = jobIdParam(req);
    const status = await events.getStatus(id);
    if (!status) return sendError(res, 'not_found', `no job with id ${id}`);
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
    const { jobId } = await submit(req, body);
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

  app.use('/api', api);
  app.post('/code', auth, legacyCode);

  app.use((_req, res) => sendError(res, 'not_found', 'no such route'));
  app.use(errorHandler(logger));
  return app;
}

function jobLinks(id: string) {
  return { self: `/api/jobs/${id}`, events: `/api/jobs/${id}/events` };
}

