import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { hashApiKey } from '@tinyb/auth';
import { sseMessages } from '@tinyb/client';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * The OpenAPI document against the real thing: the API and a worker as processes, a real job run by the real
 * claude CLI against the fake model and the fake GitHub, and every response body and every event of the stream
 * validated with ajv against the document /openapi.json serves. Objects are closed for the check (no property
 * the document does not name), so a field added to a response without its schema fails here.
 */
jest.setTimeout(120_000);

const GITHUB_TOKEN = 'ghp_openapiSecretToken0123456789abcdefAB';
const MODEL_KEY = 'sk-ant-openapi-model-key';
const KEYS = { alice: 'alice-key-0123456789abcdef', bob: 'bob-key-0123456789abcdef' };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Doc = { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }> }> }>> };

describe('OpenAPI document, metrics and traces against a real job', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;
  let doc: Doc;
  let ajv: Ajv2020;
  /** A local OTLP/HTTP receiver: every span both processes export, with its service. */
  let otlp: Server;
  const received: ExportedSpan[] = [];
  let workerMetricsUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('openapi');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo('acme', 'app', {
      files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n`, [FAKE_FILES.obsoletePath]: 'old\n' },
    });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-openapi-sandboxes-'));
    otlp = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push(...exportedSpans(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => otlp.listen(0, '127.0.0.1', resolve));
    const otlpAddress = otlp.address();
    const otlpEndpoint = `http://127.0.0.1:${typeof otlpAddress === 'object' && otlpAddress ? otlpAddress.port : 0}`;
    const metricsPort = await freePort();
    workerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = {
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: fixture.prefix,
      GITHUB_URL: github.url,
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    };
    api = startApp('api', {
      ...shared,
      PORT: String(port),
      HOST: '127.0.0.1',
      SSE_HEARTBEAT_MS: '1000',
      API_KEYS: `alice:${hashApiKey(KEYS.alice)},bob:${hashApiKey(KEYS.bob)}`,
      RATE_LIMIT_SUBMITS_PER_MIN: '4',
      // gemini has no worker here: bob's jobs for it wait in its queue, costing nothing.
      KNOWN_AGENTS: 'claude-code,gemini',
    });
    worker = startApp('worker', {
      ...shared,
      LOG_LEVEL: 'info',
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY: MODEL_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '1',
      WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      METRICS_PORT: String(metricsPort),
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
    doc = (await (await fetch(`${baseUrl}/openapi.json`)).json()) as Doc;
    ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema(closeObjects(doc as unknown as Json) as object, 'api');
  });

  afterAll(async () => {
    const codes = await Promise.all([api, worker].map((app) => app?.stop()));
    expect(codes).toEqual([0, 0]);
    await Promise.all([github?.close(), model?.close(), new Promise((resolve) => otlp?.close(resolve))]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
  /** The validator of one documented response: fails the test when the document has no such response. */
  const responseSchema = (method: string, path: string, status: number, type = 'application/json'): ValidateFunction => {
    const media = doc.paths[path]?.[method]?.responses[String(status)]?.content?.[type];
    if (!media) throw new Error(`the document has no ${type} ${status} response for ${method.toUpperCase()} ${path}`);
    const validate = ajv.getSchema(`api#/${pointer('paths', path, method, 'responses', String(status), 'content', type, 'schema')}`);
    if (!validate) throw new Error(`no schema at ${method} ${path} ${status}`);
    return validate;
  };
  const expectConforms = (validate: ValidateFunction, body: unknown, what: string) => {
    const ok = validate(body);
    if (!ok) throw new Error(`${what} does not conform: ${JSON.stringify(validate.errors, null, 1)}\n${JSON.stringify(body)}`);
  };
  /** Calls the API and checks the answer's status, and its JSON body against the document. */
  const call = async (method: string, docPath: string, url: string, expectedStatus: number, init: { key?: string; body?: unknown; headers?: Record<string, string> } = {}) => {
    const res = await fetch(`${baseUrl}${url}`, {
      method: method.toUpperCase(),
      headers: {
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
    });
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status: expectedStatus });
    const body: unknown = JSON.parse(text);
    expectConforms(responseSchema(method, docPath, expectedStatus), body, `${method.toUpperCase()} ${url} → ${expectedStatus}`);
    return body as Record<string, unknown>;
  };

  it('is an OpenAPI 3.1 document with every route, its security schemes, and a component per event type', async () => {
    expect(doc).toMatchObject({ openapi: '3.1.0', components: { securitySchemes: { apiKey: { scheme: 'bearer' }, adminBasic: { scheme: 'basic' } } } });
    for (const path of ['/api/jobs', '/api/jobs/{id}', '/api/jobs/{id}/events', '/api/agents', '/code', '/api/code', '/health', '/ready', '/metrics', '/admin/queues']) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    const schemas = Object.keys((doc as unknown as { components: { schemas: object } }).components.schemas);
    for (const type of ['job.queued', 'job.started', 'step.completed', 'agent.tool_call', 'pr.created', 'job.succeeded', 'job.failed', 'job.cancelled']) {
      expect(schemas).toContain(`JobEvent.${type}`);
    }
    const page = await fetch(`${baseUrl}/docs`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('/api/jobs/{id}/events');
    expect(html).toContain('JobEvent.pr.created');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127)/); // self-contained: nothing to fetch
  });

  it('a real job: 202, replay 200, status, list, and every SSE event conform', async () => {
    const submit = { repo_url: `${github.url}/acme/app`, prompt: '[scenario:multi] Tidy up the docs' };
    const accepted = await call('post', '/api/jobs', '/api/jobs', 202, { key: KEYS.alice, body: submit, headers: { 'Idempotency-Key': 'openapi-1' } });
    const jobId = accepted['id'] as string;
    expect(await call('post', '/api/jobs', '/api/jobs', 200, { key: KEYS.alice, body: submit, headers: { 'Idempotency-Key': 'openapi-1' } })).toEqual(accepted);

    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { headers: { authorization: `Bearer ${KEYS.alice}` } });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const validateEvent = responseSchema('get', '/api/jobs/{id}/events', 200, 'text/event-stream');
    const types: string[] = [];
    for await (const m of sseMessages(res)) {
      const event = JSON.parse(m.data) as { type: string };
      expectConforms(validateEvent, event, `event ${m.event}`);
      expect(m.event).toBe(event.type);
      expect(m.id).toMatch(/^\d+-\d+$/);
      types.push(event.type);
    }
    expect(types).toEqual(expect.arrayContaining(['job.queued', 'job.started', 'step.started', 'step.completed', 'agent.message', 'agent.tool_call', 'agent.tool_result', 'agent.usage', 'git.committed', 'pr.created']));
    expect(types.at(-1)).toBe('job.succeeded');

    const status = await call('get', '/api/jobs/{id}', `/api/jobs/${jobId}`, 200, { key: KEYS.alice });
    expect(status).toMatchObject({ id: jobId, state: 'succeeded', result: { outcome: 'pr_opened' } });
    // The check can fail: an undocumented field, or an event that breaks its type's schema, is refused.
    expect(responseSchema('get', '/api/jobs/{id}', 200)({ ...status, undocumented: true })).toBe(false);
    expect(validateEvent({ type: 'step.completed', jobId, at: new Date().toISOString(), step: 'clone' })).toBe(false);
    const list = await call('get', '/api/jobs', '/api/jobs?limit=5', 200, { key: KEYS.alice });
    expect(list['jobs']).toEqual(expect.arrayContaining([expect.objectContaining({ id: jobId, state: 'succeeded' })]));
    // A finished job cannot be cancelled.
    await call('delete', '/api/jobs/{id}', `/api/jobs/${jobId}`, 409, { key: KEYS.alice });

    // One trace: the API's job.enqueue span, the worker's job.attempt below it, steps below that, model calls
    // below the agent step; its id is in the status and in the worker's log lines.
    const traceId = status['traceId'] as string;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const deadline = Date.now() + 15_000;
    const ofTrace = () => received.filter((s) => s.traceId === traceId);
    while (!ofTrace().some((s) => s.name === 'step.destroy_sandbox') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const spans = ofTrace();
    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect({ name, count: found.length }).toEqual({ name, count: 1 });
      return found[0]!;
    };
    const enqueue = one('job.enqueue');
    const attempt = one('job.attempt');
    const agentStep = one('step.run_agent');
    expect(enqueue.service).toBe('tinyb-api');
    expect(attempt).toMatchObject({ service: 'tinyb-worker', parentSpanId: enqueue.spanId });
    for (const step of ['create_sandbox', 'clone', 'run_agent', 'commit', 'push_branch', 'open_pr', 'destroy_sandbox']) {
      expect(one(`step.${step}`).parentSpanId).toBe(attempt.spanId);
    }
    const calls = spans.filter((s) => s.name === 'model.call');
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) {
      expect(c.parentSpanId).toBe(agentStep.spanId);
      expect(c.attributes).toMatchObject({ 'tinyb.model.provider': 'anthropic', 'http.response.status_code': 200 });
    }
    expect(worker.output()).toContain(`"traceId":"${traceId}"`);

    // The worker's metrics, from its own port, and the API's.
    const workerMetrics = await (await fetch(workerMetricsUrl)).text();
    expect(workerMetrics).toMatch(/^tinyb_job_attempts_finished_total\{agent="claude-code",state="succeeded",outcome="pr_opened"\} 1$/m);
    expect(workerMetrics).toMatch(/^tinyb_step_duration_seconds_count\{step="run_agent",result="ok"\} 1$/m);
    expect(workerMetrics).toMatch(/^tinyb_sandbox_operation_seconds_count\{provider="local",operation="create"\} 1$/m);
    expect(workerMetrics).toMatch(/^tinyb_queue_wait_seconds_count\{agent="claude-code"\} 1$/m);
    expect(workerMetrics).toMatch(/^tinyb_agent_tokens_total\{agent="claude-code",kind="output"\} [1-9]/m);
    expect(workerMetrics).toMatch(/^tinyb_model_calls_total\{provider="anthropic",status="200"\} [1-9]/m);
    const apiMetrics = await (await fetch(`${baseUrl}/metrics`)).text();
    expect(apiMetrics).toMatch(/^tinyb_sse_relay_lag_seconds_count [1-9]/m);
    expect(apiMetrics).toMatch(/^tinyb_jobs_submitted_total\{agent="claude-code"\} 1$/m);
    expect(apiMetrics).toMatch(/^tinyb_queue_jobs\{queue="code\.claude-code",state="completed"\} 1$/m);
  });

  it('the legacy stream (POST /code) conforms frame by frame', async () => {
    const res = await fetch(`${baseUrl}/code`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ repoUrl: `${github.url}/acme/app`, prompt: '[scenario:noop] Nothing to do here' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-job-id')).toBeTruthy();
    const validate = responseSchema('post', '/code', 200, 'text/event-stream');
    const frames: string[] = [];
    for await (const m of sseMessages(res)) {
      const frame = JSON.parse(m.data) as { type: string };
      expectConforms(validate, frame, `legacy frame ${frame.type}`);
      frames.push(frame.type);
    }
    expect(frames.at(-1)).toBe('complete');
  });

  it('errors: 400, 401, 404, 409, 429 and the cancel of a waiting job conform', async () => {
    await call('post', '/api/jobs', '/api/jobs', 400, { key: KEYS.alice, body: { prompt: 'no repository' } });
    await call('post', '/api/jobs', '/api/jobs', 400, { key: KEYS.alice, body: '{not json' });
    await call('get', '/api/jobs', '/api/jobs?limit=0', 400, { key: KEYS.alice });
    await call('get', '/api/jobs/{id}/events', '/api/jobs/some-job/events', 400, { key: KEYS.alice, headers: { 'Last-Event-ID': 'nope' } });
    await call('post', '/api/jobs', '/api/jobs', 401, { body: { repo_url: `${github.url}/acme/app`, prompt: 'x' } });
    await call('get', '/api/jobs/{id}', '/api/jobs/some-job', 401, { key: 'not-a-key-at-all' });
    await call('get', '/api/jobs/{id}', '/api/jobs/no-such-job', 404, { key: KEYS.alice });
    await call('get', '/api/jobs/{id}/events', '/api/jobs/no-such-job/events', 404, { key: KEYS.alice });
    await call('delete', '/api/jobs/{id}', '/api/jobs/no-such-job', 404, { key: KEYS.alice });

    // Bob's jobs wait (no worker runs gemini); the fifth submit within a minute is refused, then each is cancelled.
    const waiting: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const body = await call('post', '/api/jobs', '/api/jobs', 202, { key: KEYS.bob, body: { repo_url: `${github.url}/acme/app`, prompt: `wait ${i}`, agent: 'gemini' } });
      waiting.push(body['id'] as string);
    }
    const refused = await call('post', '/api/jobs', '/api/jobs', 429, { key: KEYS.bob, body: { repo_url: `${github.url}/acme/app`, prompt: 'one too many', agent: 'gemini' } });
    expect(refused).toMatchObject({ error: { code: 'rate_limited' } });
    for (const id of waiting) {
      expect(await call('delete', '/api/jobs/{id}', `/api/jobs/${id}`, 202, { key: KEYS.bob })).toMatchObject({ id, status: 'cancelled' });
    }
  });

  it('service routes conform: /, /health, /ready, /api/agents', async () => {
    await call('get', '/', '/', 200);
    await call('get', '/health', '/health', 200);
    await call('get', '/ready', '/ready', 200);
    const agents = await call('get', '/api/agents', '/api/agents', 200, { key: KEYS.alice });
    expect(agents).toMatchObject({ default: 'claude-code', agents: [{ name: 'claude-code', workers: 1 }, { name: 'gemini', workers: 0 }] });
  });
});

/** Every object schema that names its properties and says nothing of others is closed: undocumented fields fail. */
function closeObjects(node: Json): Json {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (node === null || typeof node !== 'object') return node;
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(node)) out[key] = key === 'properties' ? mapValues(value, closeObjects) : closeObjects(value);
  if (typeof node['properties'] === 'object' && node['additionalProperties'] === undefined) out['additionalProperties'] = false;
  return out;
}

function mapValues(value: Json, fn: (v: Json) => Json): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fn(v)]));
}

interface ExportedSpan {
  service: string;
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes: Record<string, unknown>;
}

/** The spans of one OTLP/HTTP JSON export request (ids as hex, whichever encoding the exporter chose). */
function exportedSpans(body: unknown): ExportedSpan[] {
  const hex = (id: unknown) => (typeof id !== 'string' || id === '' ? undefined : /^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));
  const value = (v: Record<string, unknown>) => v['stringValue'] ?? (v['intValue'] === undefined ? v['boolValue'] ?? v['doubleValue'] : Number(v['intValue']));
  const attributes = (list: unknown) =>
    Object.fromEntries(((list ?? []) as { key: string; value: Record<string, unknown> }[]).map((a) => [a.key, value(a.value)]));
  const out: ExportedSpan[] = [];
  for (const rs of (body as { resourceSpans?: { resource?: { attributes?: unknown }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] }).resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)['service.name']);
    for (const ss of rs.scopeSpans ?? []) {
      for (const span of ss.spans ?? []) {
        const parentSpanId = hex(span['parentSpanId']);
        out.push({
          service,
          name: String(span['name']),
          traceId: hex(span['traceId'])!,
          spanId: hex(span['spanId'])!,
          ...(parentSpanId ? { parentSpanId } : {}),
          attributes: attributes(span['attributes']),
        });
      }
    }
  }
  return out;
}
