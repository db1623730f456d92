import { createServer, type AddressInfo } from 'node:net';
import type { NewJobEvent } from '@tinyb/contracts';
import { AppError, JobUsageMeter, silentLogger, type Budget, type ModelAccessGrant } from '@tinyb/core';
import { rejectionOf } from '@tinyb/testkit/caught';
import { FAKE_USAGE_PER_CALL, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGemini, type FakeGemini } from '@tinyb/testkit/fake-gemini';
import { startFakeOpenAi, type FakeOpenAi } from '@tinyb/testkit/fake-openai';
import { startFakeOpenAiResponses } from '@tinyb/testkit/fake-openai-responses';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { freeLoopbackPort } from './free-loopback-port.js';
import { ModelGateway, type ModelGatewayOptions } from './model-gateway.js';

/**
 * The gateway between real HTTP clients and the scripted fake model APIs, over real sockets: keys swapped,
 * bytes streamed unchanged, usage metered, budgets and revocation enforced.
 */

const ANTHROPIC_BODY = (prompt = 'Add a hello file') => JSON.stringify({ model: 'claude-fake', max_tokens: 100, stream: true, messages: [{ role: 'user', content: prompt }] });
const GEMINI_BODY = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Add a hello file' }] }] });
const OPENAI_BODY = (stream: boolean, prompt = 'Add a hello file') => JSON.stringify({ model: 'fake-model', stream, messages: [{ role: 'user', content: prompt }] });

let anthropic: FakeAnthropic;
let gemini: FakeGemini;
let openai: FakeOpenAi;
const open: { close(): Promise<void> }[] = [];

beforeEach(async () => {
  [anthropic, gemini, openai] = await Promise.all([startFakeAnthropic(), startFakeGemini(), startFakeOpenAi()]);
  open.push(anthropic, gemini, openai);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((o) => o.close()));
});

/** Waits up to 5 s for `condition`, which the other end of a socket sees a moment after this one. */
async function eventually(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

interface Started {
  gateway: ModelGateway;
  url: string;
  logLines: string[];
  secrets: string[];
}

async function startGateway(overrides: Partial<ModelGatewayOptions> = {}): Promise<Started> {
  const port = await freeLoopbackPort();
  const logLines: string[] = [];
  const secrets: string[] = [];
  const gateway = new ModelGateway({
    upstreams: {
      anthropic: { baseUrl: anthropic.url, apiKey: anthropic.apiKey },
      gemini: { baseUrl: gemini.url, apiKey: gemini.apiKey },
      openai: { baseUrl: openai.url, apiKey: openai.apiKey, pricing: { inputPerMTokUsd: 2, outputPerMTokUsd: 10 } },
    },
    sandboxBaseUrl: `http://127.0.0.1:${port}`,
    logger: recordingLogger(logLines),
    registerSecret: (s) => secrets.push(s),
    ...overrides,
  });
  const { url } = await gateway.listen({ port });
  open.push(gateway);
  return { gateway, url: url!, logLines, secrets };
}

interface Attempt {
  grant: ModelAccessGrant;
  meter: JobUsageMeter;
  events: NewJobEvent[];
  exceeded: AppError[];
  controller: AbortController;
}

async function attempt(gateway: ModelGateway, budget: Budget = {}): Promise<Attempt> {
  const events: NewJobEvent[] = [];
  const exceeded: AppError[] = [];
  const controller = new AbortController();
  const meter = new JobUsageMeter({ budget, emit: async (e) => void events.push(e), onExceeded: (e) => exceeded.push(e) });
  const grant = await gateway.grant({ jobId: 'job-gw', attempt: 1, usage: meter, signal: controller.signal });
  return { grant, meter, events, exceeded, controller };
}

const anthropicCall = (grant: ModelAccessGrant, init: { prompt?: string; headers?: Record<string, string>; path?: string } = {}) => {
  const { baseUrl, apiKey } = grant.endpoint('anthropic');
  return fetch(`${baseUrl}${init.path ?? '/v1/messages?beta=true'}`, {
    method: 'POST',
    headers: { 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'content-type': 'application/json', ...init.headers },
    body: ANTHROPIC_BODY(init.prompt),
  });
};

const geminiCall = (grant: ModelAccessGrant, action: 'generateContent' | 'streamGenerateContent', opts: { keyInQuery?: boolean } = {}) => {
  const { baseUrl, apiKey } = grant.endpoint('gemini');
  const query = new URLSearchParams(action === 'streamGenerateContent' ? { alt: 'sse' } : {});
  if (opts.keyInQuery) query.set('key', apiKey);
  return fetch(`${baseUrl}/v1beta/models/gemini-2.5-pro:${action}?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(opts.keyInQuery ? {} : { 'x-goog-api-key': apiKey }) },
    body: GEMINI_BODY,
  });
};

const openaiCall = (grant: ModelAccessGrant, stream: boolean) => {
  const { baseUrl, apiKey } = grant.endpoint('openai');
  return fetch(`${baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: OPENAI_BODY(stream),
  });
};

/** Everything a request carried that a token could hide in. */
const wireText = (r: { url: string; headers: object; rawBody: string }) => `${r.url}\n${JSON.stringify(r.headers)}\n${r.rawBody}`;
const responseText = async (res: Response) => `${JSON.stringify([...res.headers])}\n${await res.text()}`;

describe('ModelGateway', () => {
  it('hands out per-attempt endpoints: the base URL under its provider prefix, a fresh tbgw_ token registered as a secret', async () => {
    const { gateway, secrets } = await startGateway({ sandboxBaseUrl: 'http://127.0.0.1:7777/' });
    const a = await attempt(gateway);
    const b = await attempt(gateway);
    const endpoint = a.grant.endpoint('anthropic');
    expect(endpoint).toEqual({ baseUrl: 'http://127.0.0.1:7777/anthropic', apiKey: expect.stringMatching(/^tbgw_[A-Za-z0-9_-]{43}$/), auth: 'api-key' });
    expect(a.grant.endpoint('gemini')).toEqual({ ...endpoint, baseUrl: 'http://127.0.0.1:7777/gemini' });
    expect(a.grant.endpoint('openai')).toEqual({ ...endpoint, baseUrl: 'http://127.0.0.1:7777/openai/v1' });
    expect(b.grant.endpoint('anthropic').apiKey).not.toBe(endpoint.apiKey);
    expect(secrets).toEqual([endpoint.apiKey, b.grant.endpoint('anthropic').apiKey]);
  });

  it('swaps the token for the real key on every provider: upstream never sees the token, the client never sees the key', async () => {
    const { gateway, logLines } = await startGateway();
    const { grant } = await attempt(gateway);
    const token = grant.endpoint('anthropic').apiKey;
    const realKeys = [anthropic.apiKey, gemini.apiKey, openai.apiKey];

    const responses = [
      await anthropicCall(grant),
      await geminiCall(grant, 'streamGenerateContent'),
      await geminiCall(grant, 'generateContent', { keyInQuery: true }),
      await openaiCall(grant, true),
      await openaiCall(grant, false),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    for (const res of responses) {
      const seen = await responseText(res);
      for (const key of realKeys) expect(seen).not.toContain(key);
    }

    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]!.headers['x-api-key']).toBe(anthropic.apiKey);
    expect(anthropic.requests[0]!.url).toBe('/v1/messages?beta=true');
    expect(anthropic.requests[0]!.headers['anthropic-version']).toBe('2023-06-01');
    expect(gemini.requests.map((r) => [r.url, r.headers['x-goog-api-key']])).toEqual([
      ['/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse', gemini.apiKey],
      // `?key=<token>` is gone, the real key is in the header.
      ['/v1beta/models/gemini-2.5-pro:generateContent', gemini.apiKey],
    ]);
    expect(openai.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${openai.apiKey}`, `Bearer ${openai.apiKey}`]);
    for (const r of [...anthropic.requests, ...gemini.requests, ...openai.requests]) expect(wireText(r)).not.toContain(token);
    // No credential other than the provider's own crossed over.
    expect(anthropic.requests[0]!.headers.authorization).toBeUndefined();
    expect(gemini.requests[0]!.headers['x-api-key']).toBeUndefined();

    expect(logLines.length).toBeGreaterThan(0);
    for (const secret of [token, ...realKeys]) expect(logLines.join('\n')).not.toContain(secret);
  });

  it('streams byte for byte what a direct call gets, with the status and headers upstream sent', async () => {
    // Fresh fakes, so that the gateway's call and the direct one are each a first call (the ids count calls).
    const [viaGateway, direct] = await Promise.all([startFakeAnthropic(), startFakeAnthropic()]);
    const [geminiViaGateway, geminiDirect] = await Promise.all([startFakeGemini(), startFakeGemini()]);
    open.push(viaGateway, direct, geminiViaGateway, geminiDirect);
    const { gateway } = await startGateway({
      upstreams: { anthropic: { baseUrl: viaGateway.url, apiKey: viaGateway.apiKey }, gemini: { baseUrl: geminiViaGateway.url, apiKey: geminiViaGateway.apiKey } },
    });
    const { grant } = await attempt(gateway);

    const proxied = await anthropicCall(grant);
    const straight = await fetch(`${direct.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': direct.apiKey, 'content-type': 'application/json' },
      body: ANTHROPIC_BODY(),
    });
    expect(proxied.status).toBe(straight.status);
    expect(proxied.headers.get('content-type')).toBe('text/event-stream');
    expect(proxied.headers.get('request-id')).toBe(straight.headers.get('request-id'));
    const proxiedBytes = Buffer.from(await proxied.arrayBuffer());
    expect(proxiedBytes.length).toBeGreaterThan(500);
    expect(proxiedBytes.equals(Buffer.from(await straight.arrayBuffer()))).toBe(true);

    const geminiProxied = Buffer.from(await (await geminiCall(grant, 'streamGenerateContent')).arrayBuffer());
    const geminiStraight = await fetch(`${geminiDirect.url}/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': geminiDirect.apiKey, 'content-type': 'application/json' },
      body: GEMINI_BODY,
    });
    expect(geminiProxied.equals(Buffer.from(await geminiStraight.arrayBuffer()))).toBe(true);
  });

  it('passes a stream on as it comes: the first events arrive while upstream is still sending', async () => {
    const { gateway } = await startGateway();
    const { grant } = await attempt(gateway);
    const res = await anthropicCall(grant, { prompt: '[scenario:stall]' });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let received = '';
    while (!received.includes('"text":"Thinking"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended: upstream never ends a stall');
      received += Buffer.from(value).toString('utf8');
    }
    expect(received).toContain('event: message_start');
    // Upstream has not finished (it never will on its own), yet the client has its events.
    expect(anthropic.requests[0]!.abandonedAt).toBeUndefined();
    // A client that hangs up ends the upstream call too.
    await reader.cancel();
    await eventually(() => anthropic.requests[0]!.abandonedAt !== undefined);
  });

  it('bounds upstream: no headers in time is a 504, a body that goes silent is cut', async () => {
    // An upstream that accepts the connection and never answers.
    const silent = createServer((socket) => socket.on('data', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise<void>((resolve) => silent.close(() => resolve())) });
    const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const { gateway } = await startGateway({
      upstreams: { anthropic: { baseUrl: anthropic.url, apiKey: anthropic.apiKey }, gemini: { baseUrl: silentUrl, apiKey: 'k' } },
      upstreamHeadersTimeoutMs: 300,
      upstreamBodyTimeoutMs: 300,
    });
    const { grant } = await attempt(gateway);

    const noHeaders = await geminiCall(grant, 'generateContent');
    expect(noHeaders.status).toBe(504);
    expect(await noHeaders.json()).toMatchObject({ error: { status: 'DEADLINE_EXCEEDED' } });

    const stalled = await anthropicCall(grant, { prompt: '[scenario:stall]' });
    expect(stalled.status).toBe(200);
    expect(String(await rejectionOf(stalled.text()))).toMatch(/terminated/);
    await eventually(() => anthropic.requests[0]!.abandonedAt !== undefined);
  });

  it('meters usage for every provider, streamed and not, as cumulative gateway reports', async () => {
    const { gateway } = await startGateway();
    const perCall = { inputTokens: FAKE_USAGE_PER_CALL.inputTokens, outputTokens: FAKE_USAGE_PER_CALL.outputTokens };

    const claude = await attempt(gateway);
    await (await anthropicCall(claude.grant)).text();
    await (await anthropicCall(claude.grant)).text();
    expect(claude.meter.total()).toEqual({ inputTokens: 2 * perCall.inputTokens, outputTokens: 2 * perCall.outputTokens });
    expect(claude.events).toEqual([
      { type: 'agent.usage', ...perCall },
      { type: 'agent.usage', inputTokens: 2 * perCall.inputTokens, outputTokens: 2 * perCall.outputTokens },
    ]);

    const gem = await attempt(gateway);
    await (await geminiCall(gem.grant, 'streamGenerateContent')).text();
    await (await geminiCall(gem.grant, 'generateContent')).text();
    expect(gem.meter.total()).toEqual({ inputTokens: 2 * perCall.inputTokens, outputTokens: 2 * perCall.outputTokens });

    const oai = await attempt(gateway);
    // The stream asks for no usage chunk: the gateway asks upstream for it anyway, or the call would go uncounted.
    const streamed = await (await openaiCall(oai.grant, true)).text();
    expect(openai.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(streamed).toContain('"prompt_tokens":100');
    await (await openaiCall(oai.grant, false)).text();
    const cost = (2 * perCall.inputTokens * 2 + 2 * perCall.outputTokens * 10) / 1e6;
    expect(oai.meter.total()).toEqual({ inputTokens: 2 * perCall.inputTokens, outputTokens: 2 * perCall.outputTokens, costUsd: cost });

    // Merged with the agent's own count of the same calls, never added to it.
    await claude.meter.report({ inputTokens: 2 * perCall.inputTokens, outputTokens: 2 * perCall.outputTokens, costUsd: 0.01 }, 'agent');
    expect(claude.meter.total()).toEqual({ inputTokens: 200, outputTokens: 40, costUsd: 0.01 });
  });

  it('forwards OpenAI Responses calls (the Codex CLI’s wire) unchanged with the real key, and meters response.completed', async () => {
    const responses = await startFakeOpenAiResponses();
    open.push(responses);
    const { gateway } = await startGateway({ upstreams: { openai: { baseUrl: responses.url, apiKey: responses.apiKey, pricing: { inputPerMTokUsd: 2, outputPerMTokUsd: 10 } } } });
    const a = await attempt(gateway);
    const { baseUrl, apiKey } = a.grant.endpoint('openai');
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, store: false, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: '[scenario:noop]' }] }] });
    const res = await fetch(`${baseUrl}/responses`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toContain('"type":"response.completed"');
    // The Responses API refuses stream_options.include_usage: the body goes upstream as the client sent it.
    expect(responses.requests.map((r) => [r.url, r.rawBody, r.headers.authorization])).toEqual([['/v1/responses', body, `Bearer ${responses.apiKey}`]]);
    const cost = (FAKE_USAGE_PER_CALL.inputTokens * 2 + FAKE_USAGE_PER_CALL.outputTokens * 10) / 1e6;
    expect(a.meter.total()).toEqual({ ...FAKE_USAGE_PER_CALL, costUsd: cost });
  });

  it('refuses the next call with a non-retryable 400 once the budget is spent, and the meter ends the attempt', async () => {
    const { gateway } = await startGateway();
    const a = await attempt(gateway, { maxTokens: 100 });
    expect((await anthropicCall(a.grant)).status).toBe(200);
    expect(a.exceeded.map((e) => e.code)).toEqual(['budget_exceeded']);

    const refused = await anthropicCall(a.grant);
    expect(refused.status).toBe(400);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await refused.json()).toEqual({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining("the job's budget is spent") } });
    expect(anthropic.requests).toHaveLength(1);

    const g = await geminiCall(a.grant, 'generateContent');
    expect(g.status).toBe(400);
    expect(await g.json()).toEqual({ error: { code: 400, status: 'FAILED_PRECONDITION', message: expect.stringContaining('budget') } });
    const o = await openaiCall(a.grant, false);
    expect(o.status).toBe(400);
    expect(await o.json()).toMatchObject({ error: { code: 'budget_exceeded' } });
    expect(gemini.requests).toHaveLength(0);
    expect(openai.requests).toHaveLength(0);

    // A spent budget from the start (an earlier attempt spent it) refuses the very first call and fires onExceeded.
    const b = await attempt(gateway, { maxCostUsd: 0 });
    expect((await openaiCall(b.grant, true)).status).toBe(400);
    expect(b.exceeded.map((e) => e.code)).toEqual(['budget_exceeded']);
  });

  it('revoke() makes the token worthless at once and cuts a stream in flight, upstream and client; it is idempotent', async () => {
    const { gateway } = await startGateway();
    const a = await attempt(gateway);
    const other = await attempt(gateway);

    const res = await anthropicCall(a.grant, { prompt: '[scenario:stall]' });
    const reader = res.body!.getReader();
    await reader.read(); // the stream is open
    const stalled = anthropic.requests[0]!;
    expect(stalled.abandonedAt).toBeUndefined();

    await a.grant.revoke();
    // The client's stream breaks off instead of ending cleanly…
    const rest = (async () => {
      for (;;) if ((await reader.read()).done) return 'ended cleanly';
    })();
    // fetch's errors come from Node's own realm, not jest's: compare by message.
    expect(String(await rejectionOf(rest))).toMatch(/terminated/);
    // …and so is the upstream call.
    await eventually(() => stalled.abandonedAt !== undefined);
    // The input tokens message_start announced are counted: the provider bills them.
    expect(a.meter.total()).toEqual({ inputTokens: FAKE_USAGE_PER_CALL.inputTokens, outputTokens: 1 });

    const after = await anthropicCall(a.grant);
    expect(after.status).toBe(401);
    expect(await after.json()).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.any(String) } });
    expect(anthropic.requests).toHaveLength(1);
    await a.grant.revoke();

    // Another attempt's grant is untouched.
    expect((await anthropicCall(other.grant)).status).toBe(200);
  });

  it("the attempt's signal revokes its grant, in flight calls included", async () => {
    const { gateway } = await startGateway();
    const a = await attempt(gateway);
    const res = await anthropicCall(a.grant, { prompt: '[scenario:stall]' });
    const reader = res.body!.getReader();
    await reader.read();
    a.controller.abort(new AppError('cancelled', 'job cancelled'));
    const rest = (async () => {
      for (;;) if ((await reader.read()).done) return 'ended cleanly';
    })();
    expect(String(await rejectionOf(rest))).toMatch(/terminated/);
    await eventually(() => anthropic.requests[0]!.abandonedAt !== undefined);
    expect((await geminiCall(a.grant, 'generateContent')).status).toBe(401);

    // A grant asked for with a signal already aborted is not given.
    const controller = new AbortController();
    controller.abort(new AppError('cancelled', 'too late'));
    const err = await rejectionOf(gateway.grant({ jobId: 'j', attempt: 1, usage: a.meter, signal: controller.signal }));
    expect(err).toMatchObject({ code: 'cancelled' });
  });

  it('refuses unknown tokens, tokens of another gateway, paths that are not model calls, and providers with no upstream', async () => {
    const { gateway, url } = await startGateway({ upstreams: { anthropic: { baseUrl: anthropic.url, apiKey: anthropic.apiKey }, openai: { baseUrl: openai.url } } });
    const { grant } = await attempt(gateway);
    const token = grant.endpoint('anthropic').apiKey;
    const post = (path: string, headers: Record<string, string>, method = 'POST') =>
      fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(method === 'POST' ? { body: ANTHROPIC_BODY() } : {}) });

    // Tokens: none, made up, the real key itself, one from another gateway.
    const foreign = new ModelGateway({ upstreams: { anthropic: { baseUrl: anthropic.url, apiKey: 'x' } }, sandboxBaseUrl: url, logger: silentLogger });
    const foreignToken = (await attempt(foreign)).grant.endpoint('anthropic').apiKey;
    const badCredentials: Record<string, string>[] = [{}, { 'x-api-key': `tbgw_${'A'.repeat(43)}` }, { 'x-api-key': anthropic.apiKey }, { 'x-api-key': foreignToken }, { authorization: `Bearer ${foreignToken}` }];
    for (const headers of badCredentials) {
      const res = await post('/anthropic/v1/messages', headers);
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    }
    const openaiBad = await post('/openai/v1/chat/completions', { authorization: 'Bearer nope' });
    expect(openaiBad.status).toBe(401);
    expect(await openaiBad.json()).toMatchObject({ error: { code: 'invalid_api_key' } });

    // A valid token, but not a model call.
    for (const [method, path] of [
      ['GET', '/anthropic/v1/models'],
      ['POST', '/anthropic/v1/messages/batches'],
      ['POST', '/anthropic/v1/files'],
      ['GET', '/anthropic/v1/messages'],
      ['POST', '/anthropic/api/oauth/usage'],
      ['POST', '/openai/v1/embeddings'],
      ['POST', '/openai/chat/completions'],
    ] as const) {
      const res = await post(path, { 'x-api-key': token, authorization: `Bearer ${token}` }, method);
      expect([path, res.status]).toEqual([path, 404]);
    }
    // Dot segments are resolved before matching, so they cannot reach another upstream path.
    const dotted = await fetch(`${url}/anthropic/v1/messages/%2e%2e/%2e%2e/admin`, { method: 'POST', headers: { 'x-api-key': token }, body: '{}' });
    expect(dotted.status).toBe(404);
    // The Claude CLI's warm-up, and a path under no provider.
    expect((await fetch(`${url}/`, { method: 'HEAD' })).status).toBe(404);
    expect((await post('/v1/messages', { 'x-api-key': token })).status).toBe(404);

    // No gemini upstream: its endpoint is refused, and so is its path.
    expect(() => grant.endpoint('gemini')).toThrow(expect.objectContaining({ code: 'unknown_agent' }));
    const noGemini = await post('/gemini/v1beta/models/gemini-2.5-pro:generateContent', { 'x-goog-api-key': token });
    expect(noGemini.status).toBe(404);
    expect(await noGemini.json()).toMatchObject({ error: { status: 'NOT_FOUND' } });
    expect(anthropic.requests).toHaveLength(0);
    expect(openai.requests).toHaveLength(0);
  });

  it('refuses a request body over the limit with a 413 before it reaches upstream', async () => {
    const { gateway } = await startGateway({ maxRequestBytes: 1000 });
    const { grant } = await attempt(gateway);
    const res = await anthropicCall(grant, { prompt: 'x'.repeat(2000) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { type: 'request_too_large' } });
    expect(anthropic.requests).toHaveLength(0);
    expect((await anthropicCall(grant)).status).toBe(200);
  });

  it('OAuth upstream: a bearer subscription token and the oauth beta flag go upstream, never an x-api-key', async () => {
    const oauthToken = 'sk-ant-oat01-fake-subscription-token';
    const { gateway } = await startGateway({ upstreams: { anthropic: { baseUrl: anthropic.url, oauthToken } } });
    const { grant } = await attempt(gateway);
    await anthropicCall(grant, { headers: { 'anthropic-beta': 'claude-code-20250219,context-1m-2025-08-07' } });
    // The CLI may as well present the token as a bearer (ANTHROPIC_AUTH_TOKEN).
    const { apiKey } = grant.endpoint('anthropic');
    await fetch(`${grant.endpoint('anthropic').baseUrl}/v1/messages`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` }, body: ANTHROPIC_BODY() });

    expect(anthropic.requests).toHaveLength(2);
    const [first, second] = anthropic.requests;
    expect(first!.headers.authorization).toBe(`Bearer ${oauthToken}`);
    expect(first!.headers['x-api-key']).toBeUndefined();
    expect(first!.headers['anthropic-beta']).toBe('claude-code-20250219,context-1m-2025-08-07,oauth-2025-04-20');
    expect(second!.headers.authorization).toBe(`Bearer ${oauthToken}`);
    expect(second!.headers['anthropic-beta']).toBe('oauth-2025-04-20');
    for (const r of anthropic.requests) expect(wireText(r)).not.toContain(apiKey);
  });

  it('listens on a Unix socket too, and close() revokes every grant and stops listening', async () => {
    const socketPath = `/tmp/tinyb-gw-${process.pid}-${Date.now()}.sock`;
    const { gateway, url } = await startGateway();
    const addresses = await gateway.listen({ socketPath });
    expect(addresses).toEqual({ socketPath });
    const { grant } = await attempt(gateway);
    const { Client } = await import('undici');
    const client = new Client('http://localhost', { socketPath });
    try {
      const res = await client.request({
        method: 'POST',
        path: '/anthropic/v1/messages',
        headers: { 'x-api-key': grant.endpoint('anthropic').apiKey, 'content-type': 'application/json' },
        body: ANTHROPIC_BODY(),
      });
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toContain('message_stop');
    } finally {
      await client.close();
    }

    await gateway.close();
    await gateway.close();
    const refused = await rejectionOf(fetch(`${url}/anthropic/v1/messages`, { method: 'POST' }));
    expect(String((refused as Error).cause)).toMatch(/ECONNREFUSED/);
    const meter = new JobUsageMeter({ budget: {}, emit: async () => {}, onExceeded: () => {} });
    expect(await rejectionOf(gateway.grant({ jobId: 'j', attempt: 1, usage: meter, signal: new AbortController().signal }))).toBeInstanceOf(AppError);
  });
});
