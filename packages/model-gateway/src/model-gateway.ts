/**
 * The model gateway: a reverse proxy in the worker that holds the operator's model API keys, so that an agent
 * in a sandbox (treated as hostile) never sees them.
 *
 * What it guarantees:
 * - Keys stay here. A sandbox gets, per attempt, a random token (`tbgw_` + 32 random bytes) and a base URL. The
 *   token is worth something only here, only while its grant lives: `revoke()` (or the attempt's signal aborting)
 *   forgets it at once and cuts that grant's calls in flight, upstream and towards the client.
 * - Only model calls pass: Anthropic `POST /v1/messages` (and `/count_tokens`), Gemini `POST
 *   /v1beta/models/{model}:generateContent|streamGenerateContent|countTokens`, OpenAI `POST /v1/chat/completions`,
 *   `POST /v1/responses` and `GET /v1/models`. Anything else is a 404 in the provider's error shape, as is a provider with no upstream.
 * - Every credential the sandbox sends (headers, Gemini's `?key=`) is removed and the real one set; the response
 *   goes back with upstream's status and headers (less hop-by-hop ones) and its body streamed as it arrives, with
 *   backpressure, never buffered: server-sent events reach the CLI event by event.
 * - Usage is read from the passing responses (streamed or not) and reported after every call, as the attempt's
 *   cumulative totals, to its UsageMeter as the 'gateway' source. Upstream is asked for uncompressed bodies so the
 *   copy can be read; OpenAI Chat Completions streams are made to include usage (`stream_options.include_usage`),
 *   so a hostile client cannot hide what it spends by leaving it out (Responses streams always end with it).
 * - Once the budget is spent, the next call is refused with a 400 (CLIs retry 429 and 5xx) saying so.
 * - Bounded: request bodies (`maxRequestBytes`), concurrent calls per grant, upstream header and idle-body
 *   timeouts; grants are forgotten on revoke; `close()` stops listening, revokes every grant and drops connections.
 *
 * What it leaves out: it counts what responses report, so a call cut before its usage arrived counts what was
 * seen by then (Anthropic reports input at the start of a stream, output at its end); it does not price
 * Anthropic or Gemini calls (their agents' CLIs report cost); TLS for the TCP listener is the operator's.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { Usage } from '@tinyb/contracts';
import {
  AppError,
  abortReason,
  type Logger,
  type ModelAccess,
  type ModelAccessGrant,
  type ModelAccessRequest,
  type ModelCallObserver,
  type ModelEndpoint,
  type ModelProvider,
} from '@tinyb/core';
import { CallUsageReader } from './call-usage-reader.js';
import { endToEndHeaders, responseHeaders } from './forwarded-headers.js';
import { CREDENTIAL_HEADERS, CREDENTIAL_QUERY_KEYS, PROVIDER_PROFILES, isRecord, type GatewayRefusal, type ProviderProfile, type TokenCounts } from './provider-profiles.js';

/** ANTHROPIC_BASE_URL's convention: an origin (plus path prefix, if any) to which `/v1/messages` is appended. */
export interface AnthropicUpstream {
  baseUrl: string;
  /** Exactly one of `apiKey` (sent as x-api-key) and `oauthToken` (CLAUDE_CODE_OAUTH_TOKEN, a Claude subscription). */
  apiKey?: string;
  oauthToken?: string;
}

/** GOOGLE_GEMINI_BASE_URL's convention: an origin to which `/v1beta/models/…` is appended. */
export interface GeminiUpstream {
  baseUrl: string;
  apiKey: string;
}

/** An OpenAI base URL's convention: it ends in `/v1` (or the compatible server's equivalent); `/chat/completions` is appended. */
export interface OpenAiUpstream {
  baseUrl: string;
  /** Omitted for a local OpenAI-compatible server that wants none. */
  apiKey?: string;
  /** Prices to turn OpenAI-compatible usage into cost; without them costUsd stays undefined. */
  pricing?: { inputPerMTokUsd: number; outputPerMTokUsd: number };
}

export interface ModelGatewayOptions {
  upstreams: { anthropic?: AnthropicUpstream; gemini?: GeminiUpstream; openai?: OpenAiUpstream };
  /**
   * The gateway's root URL as sandboxes see it, without a trailing slash: `http://127.0.0.1:<port>` for local
   * sandboxes (a forwarder inside the sandbox relays that port to the gateway's Unix socket), or the public URL
   * (MODEL_GATEWAY_PUBLIC_URL) for Daytona. Endpoints are `<sandboxBaseUrl>/anthropic`, `/gemini`, `/openai/v1`.
   */
  sandboxBaseUrl: string;
  logger: Logger;
  /** Called with every minted token, so the process's redactor hides it wherever it might be printed. */
  registerSecret?: (value: string) => void;
  /** Largest request body forwarded; larger ones get a 413. Default 32 MiB (Anthropic's own limit). */
  maxRequestBytes?: number;
  /** Calls one grant may have in flight at once; more get a 429. Default 16. */
  maxConcurrentCallsPerGrant?: number;
  /** How long upstream may take to send response headers (a non-streamed call waits for the whole answer). Default 10 min. */
  upstreamHeadersTimeoutMs?: number;
  /** Longest silence allowed between two pieces of a response body. Default 5 min. */
  upstreamBodyTimeoutMs?: number;
  /** How long a client may take to send a whole request (headers and body). Default 60 s. */
  clientRequestTimeoutMs?: number;
  /** Sees every upstream call (metrics, a span per call); absent: nothing is recorded. */
  observer?: ModelCallObserver;
}

export interface ModelGatewayListenOptions {
  /** A Unix socket path (local sandboxes reach it through a bind mount); a stale socket file there is replaced. */
  socketPath?: string;
  /** chmod for the socket file, e.g. 0o666 when the sandbox user is not the worker's. Default: left to the umask. */
  socketMode?: number;
  /** A TCP listener (Daytona sandboxes, behind the operator's TLS). Host defaults to 127.0.0.1; port 0 picks a free one. */
  host?: string;
  port?: number;
}

export interface ModelGatewayAddresses {
  socketPath?: string;
  /** `http://host:port` of the TCP listener. */
  url?: string;
}

const DEFAULTS = {
  maxRequestBytes: 32 * 1024 * 1024,
  maxConcurrentCallsPerGrant: 16,
  upstreamHeadersTimeoutMs: 10 * 60_000,
  upstreamBodyTimeoutMs: 5 * 60_000,
  clientRequestTimeoutMs: 60_000,
  upstreamConnectTimeoutMs: 10_000,
};
/** A non-streamed response larger than this is passed on but not read for usage (no real answer is this large). */
const MAX_METERED_JSON_BYTES = 16 * 1024 * 1024;
const TOKEN_PREFIX = 'tbgw_';
const OAUTH_BETA_FLAG = 'oauth-2025-04-20';
const PROVIDERS = Object.keys(PROVIDER_PROFILES) as ModelProvider[];

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export class ModelGateway implements ModelAccess {
  /** Live grants by the SHA-256 of their token: the tokens themselves are kept nowhere but in their grant. */
  private readonly grants = new Map<string, LiveGrant>();
  private readonly servers: Server[] = [];
  private readonly socketPaths: string[] = [];
  private readonly dispatcher: Agent;
  private readonly shutdown = new AbortController();
  private readonly log: Logger;
  private readonly limits: typeof DEFAULTS;
  private readonly sandboxBaseUrl: string;

  constructor(private readonly opts: ModelGatewayOptions) {
    const { anthropic } = opts.upstreams;
    if (anthropic && (anthropic.apiKey === undefined) === (anthropic.oauthToken === undefined)) {
      throw new Error('model gateway: the anthropic upstream needs exactly one of apiKey and oauthToken');
    }
    this.limits = {
      ...DEFAULTS,
      ...definedOnly({
        maxRequestBytes: opts.maxRequestBytes,
        maxConcurrentCallsPerGrant: opts.maxConcurrentCallsPerGrant,
        upstreamHeadersTimeoutMs: opts.upstreamHeadersTimeoutMs,
        upstreamBodyTimeoutMs: opts.upstreamBodyTimeoutMs,
        clientRequestTimeoutMs: opts.clientRequestTimeoutMs,
      }),
    };
    this.sandboxBaseUrl = opts.sandboxBaseUrl.replace(/\/+$/, '');
    this.log = opts.logger.child({ component: 'model-gateway' });
    this.dispatcher = new Agent({
      headersTimeout: this.limits.upstreamHeadersTimeoutMs,
      bodyTimeout: this.limits.upstreamBodyTimeoutMs,
      connect: { timeout: this.limits.upstreamConnectTimeoutMs },
    });
  }

  async grant(req: ModelAccessRequest): Promise<ModelAccessGrant> {
    if (this.shutdown.signal.aborted) throw new AppError('internal', 'the model gateway is closed');
    if (req.signal.aborted) throw abortReason(req.signal);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    this.opts.registerSecret?.(token);
    const tokenHash = hashToken(token);
    const grant = new LiveGrant(req, this.log.child({ jobId: req.jobId, attempt: req.attempt }), {
      endpoint: (provider) => this.endpointFor(provider, token),
      forget: () => this.grants.delete(tokenHash),
      // Opened here, in the attempt's own async context, so each call's span is a child of the asking step.
      calls: this.opts.observer?.grantOpened({ jobId: req.jobId, attempt: req.attempt }),
    });
    this.grants.set(tokenHash, grant);
    return grant;
  }

  /** Starts listening on a Unix socket, a TCP port, or both (one server each, one handler). */
  async listen(opts: ModelGatewayListenOptions): Promise<ModelGatewayAddresses> {
    if (opts.socketPath === undefined && opts.port === undefined && opts.host === undefined) {
      throw new Error('model gateway: listen needs a socketPath, a port, or both');
    }
    const addresses: ModelGatewayAddresses = {};
    if (opts.socketPath !== undefined) {
      // A socket file left by a crashed worker would make listen fail with EADDRINUSE.
      await rm(opts.socketPath, { force: true });
      await this.startServer((server, done) => server.listen(opts.socketPath, done));
      this.socketPaths.push(opts.socketPath);
      if (opts.socketMode !== undefined) await chmod(opts.socketPath, opts.socketMode);
      addresses.socketPath = opts.socketPath;
    }
    if (opts.port !== undefined || opts.host !== undefined) {
      const host = opts.host ?? '127.0.0.1';
      const server = await this.startServer((s, done) => s.listen(opts.port ?? 0, host, done));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('model gateway: TCP listener has no address');
      addresses.url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    }
    return addresses;
  }

  /** Stops listening, revokes every grant (cutting their calls) and closes upstream connections. Idempotent. */
  async close(): Promise<void> {
    if (this.shutdown.signal.aborted) return;
    this.shutdown.abort();
    await Promise.all([...this.grants.values()].map((grant) => grant.revoke()));
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          }),
      ),
    );
    await this.dispatcher.destroy();
    await Promise.all(this.socketPaths.map((p) => rm(p, { force: true })));
  }

  private endpointFor(provider: ModelProvider, token: string): ModelEndpoint {
    if (this.opts.upstreams[provider] === undefined) {
      throw new AppError('unknown_agent', `the model gateway has no ${provider} credentials configured`);
    }
    // Behind a Claude subscription the CLI runs in its OAuth mode (CLAUDE_CODE_OAUTH_TOKEN = our token), so its
    // requests are shaped as a subscription's are (bearer, oauth beta flag); the gateway swaps in the real bearer.
    const oauth = provider === 'anthropic' && this.opts.upstreams.anthropic?.oauthToken !== undefined;
    return { baseUrl: `${this.sandboxBaseUrl}/${provider}${PROVIDER_PROFILES[provider].endpointSuffix}`, apiKey: token, auth: oauth ? 'oauth' : 'api-key' };
  }

  private async startServer(listen: (server: Server, done: () => void) => void): Promise<Server> {
    const server = createServer({ requestTimeout: this.limits.clientRequestTimeoutMs }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log.error({ err: err instanceof Error ? err.message : String(err) }, 'model gateway request failed');
        res.destroy();
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      listen(server, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.servers.push(server);
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://model-gateway.invalid');
    const route = routeOf(url.pathname);
    if (!route) {
      // Not under any provider's prefix (the Claude CLI's `HEAD /` warm-up, say).
      sendJson(res, 404, { error: { message: 'not found' } });
      return;
    }
    const { profile, path } = route;
    const refuse = (kind: GatewayRefusal, message: string) => {
      const { status, body } = profile.refusal(kind, message);
      sendJson(res, status, body);
    };
    if (this.opts.upstreams[profile.provider] === undefined) return refuse('not_found', `the model gateway has no ${profile.provider} upstream`);

    const token = profile.tokenOf(req.headers, url.searchParams);
    const grant = token === undefined ? undefined : this.grants.get(hashToken(token));
    if (!grant) {
      this.log.warn({ provider: profile.provider, path }, 'model call with an unknown or revoked token');
      return refuse('unauthenticated', 'invalid or expired model gateway token');
    }
    const method = req.method ?? '';
    if (!profile.allows(method, path)) {
      grant.log.warn({ provider: profile.provider, method, path }, 'request for a path the model gateway does not forward');
      return refuse('not_found', `the model gateway does not forward ${method} ${path}`);
    }
    if (grant.inFlight.size >= this.limits.maxConcurrentCallsPerGrant) return refuse('too_many_calls', 'too many model calls in flight for this job');

    const call = this.forward({ req, res, url, profile, path, grant, refuse });
    grant.inFlight.add(call);
    try {
      await call;
    } finally {
      grant.inFlight.delete(call);
    }
  }

  private async forward(c: {
    req: IncomingMessage;
    res: ServerResponse;
    url: URL;
    profile: ProviderProfile;
    path: string;
    grant: LiveGrant;
    refuse(kind: GatewayRefusal, message: string): void;
  }): Promise<void> {
    const { req, res, profile, grant } = c;
    const startedAt = Date.now();
    const clientGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) clientGone.abort();
    });
    const signal = AbortSignal.any([grant.calls.signal, this.shutdown.signal, clientGone.signal]);

    const body = await readBody(req, this.limits.maxRequestBytes, signal);
    if (body === 'too-large') {
      res.setHeader('connection', 'close');
      return c.refuse('too_large', `request body over ${this.limits.maxRequestBytes} bytes`);
    }
    if (body === 'aborted') return this.refuseAborted(c, signal);

    const spent = grant.usage.refuseIfSpent();
    if (spent) {
      grant.log.info({ provider: profile.provider }, 'model call refused: budget spent');
      return c.refuse('budget_spent', spent.message);
    }

    const query = new URLSearchParams(c.url.searchParams);
    for (const key of CREDENTIAL_QUERY_KEYS) query.delete(key);
    const search = query.size > 0 ? `?${query.toString()}` : '';
    const target = `${this.upstreamBase(profile.provider)}${c.path}${search}`;
    const headers = endToEndHeaders(req.headers, [...CREDENTIAL_HEADERS, 'host', 'content-length', 'accept-encoding', 'expect']);
    // Uncompressed, so the copy read for usage is plain text; the bytes the client gets are still upstream's.
    headers['accept-encoding'] = 'identity';
    this.setUpstreamCredential(profile.provider, headers);
    // Responses streams always end with their usage, and the API refuses `stream_options.include_usage`.
    const forwardedBody = profile.provider === 'openai' && c.path === '/chat/completions' ? withStreamUsage(body) : body;

    const callEnded = grant.observer?.callStarted({ provider: profile.provider, method: req.method ?? '', path: c.path });
    let upstream: Dispatcher.ResponseData;
    try {
      upstream = await request(target, {
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: req.method === 'GET' || req.method === 'HEAD' ? null : forwardedBody,
        signal,
        dispatcher: this.dispatcher,
      });
    } catch (err) {
      const timedOut = err instanceof undiciErrors.HeadersTimeoutError;
      callEnded?.({ outcome: signal.aborted ? 'aborted' : timedOut ? 'timeout' : 'unreachable', durationMs: Date.now() - startedAt });
      if (signal.aborted) return this.refuseAborted(c, signal);
      grant.log.warn({ provider: profile.provider, path: c.path, err: errorText(err) }, 'upstream model API unreachable');
      return c.refuse(timedOut ? 'upstream_timeout' : 'upstream_unreachable', timedOut ? 'the model API did not answer in time' : 'the model API is unreachable');
    }

    const ok = upstream.statusCode >= 200 && upstream.statusCode < 300;
    const reader = ok
      ? new CallUsageReader({ contentType: headerText(upstream.headers['content-type']), usageIn: profile.usageIn, maxJsonBytes: MAX_METERED_JSON_BYTES })
      : undefined;
    let outcome = 'completed';
    try {
      res.writeHead(upstream.statusCode, responseHeaders(upstream.headers));
      // Headers go out now, not with the first body chunk: a CLI may wait on them before it reads the stream.
      res.flushHeaders();
      await pipeline(upstream.body, usageTap(reader), res, { signal });
    } catch (err) {
      outcome = grant.calls.signal.aborted ? 'revoked' : clientGone.signal.aborted ? 'client-gone' : this.shutdown.signal.aborted ? 'shutdown' : `failed: ${errorText(err)}`;
      // pipeline has destroyed both ends: the client's connection is cut mid-response, as it must be.
      res.destroy();
      upstream.body.destroy();
    } finally {
      const counts = reader?.finish() ?? null;
      if (reader?.overflowed) grant.log.warn({ provider: profile.provider }, 'response too large to read its usage');
      grant.log.debug(
        { provider: profile.provider, path: c.path, status: upstream.statusCode, outcome, ms: Date.now() - startedAt, ...(counts ?? {}) },
        'model call forwarded',
      );
      callEnded?.({ status: upstream.statusCode, outcome, durationMs: Date.now() - startedAt, ...(counts ?? {}) });
      if (counts) await grant.recordCall(counts, this.costOf(profile.provider, counts));
    }
  }

  private refuseAborted(c: { res: ServerResponse; grant: LiveGrant; refuse(kind: GatewayRefusal, message: string): void }, signal: AbortSignal): void {
    if (c.res.destroyed || c.res.headersSent || !signal.aborted) {
      c.res.destroy();
      return;
    }
    if (c.grant.calls.signal.aborted) return c.refuse('revoked', "this job attempt's model access was revoked");
    if (this.shutdown.signal.aborted) return c.refuse('shutting_down', 'the model gateway is shutting down');
    c.res.destroy(); // the client went away
  }

  private upstreamBase(provider: ModelProvider): string {
    return (this.opts.upstreams[provider]?.baseUrl ?? '').replace(/\/+$/, '');
  }

  private setUpstreamCredential(provider: ModelProvider, headers: Record<string, string | string[]>): void {
    const { anthropic, gemini, openai } = this.opts.upstreams;
    if (provider === 'anthropic' && anthropic) {
      if (anthropic.oauthToken !== undefined) {
        headers.authorization = `Bearer ${anthropic.oauthToken}`;
        // The subscription's OAuth tokens are accepted only with this beta flag; the CLI's own flags stay.
        const flags = headerText(headers['anthropic-beta'])
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
        headers['anthropic-beta'] = [...new Set([...flags, OAUTH_BETA_FLAG])].join(',');
      } else if (anthropic.apiKey !== undefined) {
        headers['x-api-key'] = anthropic.apiKey;
      }
    } else if (provider === 'gemini' && gemini) {
      headers['x-goog-api-key'] = gemini.apiKey;
    } else if (provider === 'openai' && openai?.apiKey !== undefined) {
      headers.authorization = `Bearer ${openai.apiKey}`;
    }
  }

  private costOf(provider: ModelProvider, counts: TokenCounts): number | undefined {
    const pricing = provider === 'openai' ? this.opts.upstreams.openai?.pricing : undefined;
    if (!pricing) return undefined;
    return (counts.inputTokens * pricing.inputPerMTokUsd + counts.outputTokens * pricing.outputPerMTokUsd) / 1_000_000;
  }
}

/** One attempt's grant: its token's life, its calls in flight, and its cumulative usage. */
class LiveGrant implements ModelAccessGrant {
  /** Aborted on revoke: every call of this grant listens to it. */
  readonly calls = new AbortController();
  readonly inFlight = new Set<Promise<void>>();
  private readonly totals: TokenCounts = { inputTokens: 0, outputTokens: 0 };
  private costUsd: number | undefined;
  private readonly onAbort = () => void this.revoke();

  constructor(
    private readonly req: ModelAccessRequest,
    readonly log: Logger,
    private readonly gateway: {
      endpoint(provider: ModelProvider): ModelEndpoint;
      forget(): void;
      calls: ReturnType<ModelCallObserver['grantOpened']> | undefined;
    },
  ) {
    req.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get usage() {
    return this.req.usage;
  }

  get observer() {
    return this.gateway.calls;
  }

  endpoint(provider: ModelProvider): ModelEndpoint {
    return this.gateway.endpoint(provider);
  }

  /** Forgets the token, cuts the calls in flight and waits until they have settled (and reported their usage). */
  async revoke(): Promise<void> {
    if (!this.calls.signal.aborted) {
      this.gateway.forget();
      this.req.signal.removeEventListener('abort', this.onAbort);
      this.calls.abort(new AppError('cancelled', "the attempt's model access was revoked"));
      this.log.debug({ inFlight: this.inFlight.size }, 'model access revoked');
    }
    await Promise.allSettled([...this.inFlight]);
  }

  /** Adds one call's counts and reports the attempt's totals; a meter that fails to publish does not fail the call. */
  async recordCall(counts: TokenCounts, costUsd: number | undefined): Promise<void> {
    this.totals.inputTokens += counts.inputTokens;
    this.totals.outputTokens += counts.outputTokens;
    if (costUsd !== undefined) this.costUsd = (this.costUsd ?? 0) + costUsd;
    const total: Usage = { ...this.totals, ...(this.costUsd === undefined ? {} : { costUsd: Math.round(this.costUsd * 1e6) / 1e6 }) };
    try {
      await this.req.usage.report(total, 'gateway');
    } catch (err) {
      this.log.warn({ err: errorText(err) }, 'usage report failed');
    }
  }
}

/** The provider whose prefix `pathname` starts with, and the rest of the path after its endpoint's base. */
function routeOf(pathname: string): { profile: ProviderProfile; path: string } | undefined {
  for (const provider of PROVIDERS) {
    const profile = PROVIDER_PROFILES[provider];
    const base = `/${provider}${profile.endpointSuffix}`;
    if (pathname.startsWith(`${base}/`)) return { profile, path: pathname.slice(base.length) };
    if (pathname === `/${provider}` || pathname.startsWith(`/${provider}/`)) return { profile, path: '' };
  }
  return undefined;
}

/** The whole request body, at most `maxBytes`; the client may stream it slowly, within the server's request timeout. */
async function readBody(req: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return 'too-large';
  const chunks: Buffer[] = [];
  let size = 0;
  // A revoked grant stops waiting for a client that sends its body slowly.
  const stop = () => req.destroy();
  signal.addEventListener('abort', stop, { once: true });
  try {
    for await (const chunk of req) {
      if (signal.aborted) return 'aborted';
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > maxBytes) return 'too-large';
      chunks.push(buf);
    }
  } catch {
    return 'aborted';
  } finally {
    signal.removeEventListener('abort', stop);
  }
  return signal.aborted ? 'aborted' : Buffer.concat(chunks);
}

/**
 * An OpenAI streaming request made to end with a usage chunk. Without `include_usage` a stream reports no usage
 * at all, so a client could spend without being counted; clients that asked for it already see no change.
 */
function withStreamUsage(body: Buffer): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body; // upstream answers it with its own 400
  }
  if (!isRecord(parsed) || parsed.stream !== true) return body;
  const options = isRecord(parsed.stream_options) ? parsed.stream_options : {};
  if (options.include_usage === true) return body;
  return Buffer.from(JSON.stringify({ ...parsed, stream_options: { ...options, include_usage: true } }));
}

/** Passes every chunk on at once and lets the reader look at it on the way. */
function usageTap(reader: CallUsageReader | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        reader?.write(chunk);
      } catch {
        // Metering must never break the stream it watches.
      }
      done(null, chunk);
    },
  });
}

function sendJson(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', 'x-should-retry': status === 429 || status >= 500 ? 'true' : 'false' });
  res.end(JSON.stringify(body));
}

function headerText(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

function errorText(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function definedOnly<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, number>>;
}
