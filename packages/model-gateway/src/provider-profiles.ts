import type { IncomingHttpHeaders } from 'node:http';
import type { ModelProvider } from '@tinyb/core';

/** Tokens one model call consumed, as far as its response has shown them so far. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
}

/** Why the gateway answers a call itself instead of forwarding it; each provider words it in its own error shape. */
export type GatewayRefusal =
  | 'unauthenticated'
  | 'revoked'
  | 'not_found'
  | 'budget_spent'
  | 'too_large'
  | 'too_many_calls'
  | 'upstream_unreachable'
  | 'upstream_timeout'
  | 'shutting_down';

/** Everything the gateway knows about one model API: where its CLI sends what, and how it answers. */
export interface ProviderProfile {
  provider: ModelProvider;
  /**
   * What the sandbox's base URL adds after `/<provider>`, following the convention of the variable the CLI reads:
   * ANTHROPIC_BASE_URL and GOOGLE_GEMINI_BASE_URL are origins (the SDK adds `/v1/…`, `/v1beta/…`), an OpenAI
   * base URL ends in `/v1` (the SDK adds `/chat/completions`, the Codex CLI `/responses`). The upstream's configured baseUrl follows the same
   * convention, so a path is forwarded by swapping one base for the other.
   */
  endpointSuffix: string;
  /** Whether `method path` (relative to the endpoint's base URL) is a model API call the gateway forwards. */
  allows(method: string, path: string): boolean;
  /** The token as the provider's client sends its key. */
  tokenOf(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined;
  /** Tokens in one JSON payload: a whole response body, or one server-sent event's data. */
  usageIn(payload: unknown): Partial<TokenCounts> | undefined;
  /** Status and body of a refusal, in the shape the provider's own clients parse. */
  refusal(kind: GatewayRefusal, message: string): { status: number; body: object };
}

/**
 * Headers and query keys that carry a credential in any provider's protocol: all of them are removed from a
 * forwarded call, so nothing the sandbox sends reaches an upstream as a credential.
 */
export const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'proxy-authorization', 'cookie'] as const;
export const CREDENTIAL_QUERY_KEYS = ['key'] as const;

/**
 * Status codes per refusal. A spent budget is 400, the status Anthropic itself gives an account without credit,
 * because every CLI retries 429 and 5xx (and the Claude CLI retries 401): the job is over, a retry only burns time.
 */
const STATUS: Record<GatewayRefusal, number> = {
  unauthenticated: 401,
  revoked: 401,
  not_found: 404,
  budget_spent: 400,
  too_large: 413,
  too_many_calls: 429,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  shutting_down: 503,
};

const ANTHROPIC_ERROR_TYPE: Record<GatewayRefusal, string> = {
  unauthenticated: 'authentication_error',
  revoked: 'authentication_error',
  not_found: 'not_found_error',
  budget_spent: 'invalid_request_error',
  too_large: 'request_too_large',
  too_many_calls: 'rate_limit_error',
  upstream_unreachable: 'api_error',
  upstream_timeout: 'api_error',
  shutting_down: 'overloaded_error',
};

const GOOGLE_STATUS: Record<GatewayRefusal, string> = {
  unauthenticated: 'UNAUTHENTICATED',
  revoked: 'UNAUTHENTICATED',
  not_found: 'NOT_FOUND',
  budget_spent: 'FAILED_PRECONDITION',
  too_large: 'INVALID_ARGUMENT',
  too_many_calls: 'RESOURCE_EXHAUSTED',
  upstream_unreachable: 'UNAVAILABLE',
  upstream_timeout: 'DEADLINE_EXCEEDED',
  shutting_down: 'UNAVAILABLE',
};

const OPENAI_ERROR: Record<GatewayRefusal, { type: string; code: string }> = {
  unauthenticated: { type: 'invalid_request_error', code: 'invalid_api_key' },
  revoked: { type: 'invalid_request_error', code: 'invalid_api_key' },
  not_found: { type: 'invalid_request_error', code: 'unknown_url' },
  budget_spent: { type: 'invalid_request_error', code: 'budget_exceeded' },
  too_large: { type: 'invalid_request_error', code: 'request_too_large' },
  too_many_calls: { type: 'requests', code: 'rate_limit_exceeded' },
  upstream_unreachable: { type: 'server_error', code: 'upstream_unreachable' },
  upstream_timeout: { type: 'server_error', code: 'upstream_timeout' },
  shutting_down: { type: 'server_error', code: 'service_unavailable' },
};

const ANTHROPIC_MESSAGES = /^\/v1\/messages(\/count_tokens)?$/;
/** Model names as the API spells them (`gemini-2.5-pro`); no slashes, so no other resource is reachable. */
const GEMINI_MODEL_CALL = /^\/v1beta\/models\/[A-Za-z0-9._-]+:(generateContent|streamGenerateContent|countTokens)$/;

export const PROVIDER_PROFILES: Record<ModelProvider, ProviderProfile> = {
  anthropic: {
    provider: 'anthropic',
    endpointSuffix: '',
    allows: (method, path) => method === 'POST' && ANTHROPIC_MESSAGES.test(path),
    // An API key arrives as x-api-key; ANTHROPIC_AUTH_TOKEN and OAuth tokens as a bearer token.
    tokenOf: (headers) => single(headers['x-api-key']) ?? bearerOf(headers),
    usageIn: (payload) => {
      if (!isRecord(payload)) return undefined;
      // A stream opens with message_start (input, and output so far) and corrects output in message_delta; a
      // whole response carries `usage` at the top. count_tokens answers `{input_tokens}` without `usage`: not a call.
      const usage = payload.type === 'message_start' && isRecord(payload.message) ? payload.message.usage : payload.usage;
      if (!isRecord(usage)) return undefined;
      const counts: Partial<TokenCounts> = {};
      const input = count(usage.input_tokens);
      if (input !== undefined) {
        // Cached prompt tokens are input the account pays for too (at other rates), reported apart from input_tokens.
        counts.inputTokens = input + (count(usage.cache_creation_input_tokens) ?? 0) + (count(usage.cache_read_input_tokens) ?? 0);
      }
      const output = count(usage.output_tokens);
      if (output !== undefined) counts.outputTokens = output;
      return counts;
    },
    refusal: (kind, message) => ({ status: STATUS[kind], body: { type: 'error', error: { type: ANTHROPIC_ERROR_TYPE[kind], message } } }),
  },
  gemini: {
    provider: 'gemini',
    endpointSuffix: '',
    allows: (method, path) => method === 'POST' && GEMINI_MODEL_CALL.test(path),
    tokenOf: (headers, query) => single(headers['x-goog-api-key']) ?? query.get('key') ?? undefined,
    usageIn: (payload) => {
      // Each chunk of a stream carries the call's running count; countTokens answers `{totalTokens}`: not a call.
      if (!isRecord(payload) || !isRecord(payload.usageMetadata)) return undefined;
      const usage = payload.usageMetadata;
      const counts: Partial<TokenCounts> = {};
      const prompt = count(usage.promptTokenCount);
      // cachedContentTokenCount is part of promptTokenCount already; tool-use prompts are not.
      if (prompt !== undefined) counts.inputTokens = prompt + (count(usage.toolUsePromptTokenCount) ?? 0);
      const candidates = count(usage.candidatesTokenCount);
      const thoughts = count(usage.thoughtsTokenCount);
      if (candidates !== undefined || thoughts !== undefined) counts.outputTokens = (candidates ?? 0) + (thoughts ?? 0);
      return counts;
    },
    refusal: (kind, message) => ({ status: STATUS[kind], body: { error: { code: STATUS[kind], message, status: GOOGLE_STATUS[kind] } } }),
  },
  openai: {
    provider: 'openai',
    endpointSuffix: '/v1',
    // Chat Completions (OpenAI-compatible servers) and the Responses API (the Codex CLI's `wire_api = "responses"`).
    allows: (method, path) =>
      (method === 'POST' && (path === '/chat/completions' || path === '/responses')) || (method === 'GET' && path === '/models'),
    tokenOf: (headers) => bearerOf(headers),
    usageIn: (payload) => {
      if (!isRecord(payload)) return undefined;
      // A Responses stream reports the call's usage once, in its closing `response.completed` (or `.incomplete`
      // when cut at max_output_tokens, `.failed` after spending some); a whole response carries it at the top.
      const response = typeof payload.type === 'string' && payload.type.startsWith('response.') ? payload.response : payload;
      if (!isRecord(response) || !isRecord(response.usage)) return undefined;
      const usage = response.usage;
      const counts: Partial<TokenCounts> = {};
      // Chat Completions names them prompt/completion tokens (a stream's last chunk; others say `usage: null`),
      // Responses input/output tokens; cached input is part of input_tokens and reasoning part of output_tokens.
      const input = count(usage.prompt_tokens) ?? count(usage.input_tokens);
      if (input !== undefined) counts.inputTokens = input;
      const output = count(usage.completion_tokens) ?? count(usage.output_tokens);
      if (output !== undefined) counts.outputTokens = output;
      return counts;
    },
    refusal: (kind, message) => ({ status: STATUS[kind], body: { error: { message, ...OPENAI_ERROR[kind], param: null } } }),
  },
};

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

function single(v: string | string[] | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function bearerOf(headers: IncomingHttpHeaders): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.authorization ?? '');
  return m?.[1];
}
