import type { UsageMeter } from '../pipeline/usage-meter.js';

/** The model APIs an agent CLI may call: Anthropic Messages, Gemini (generativelanguage), OpenAI-compatible. */
export type ModelProvider = 'anthropic' | 'gemini' | 'openai';

/** How an agent reaches one model API during one attempt: what goes into the CLI's base-URL and API-key variables. */
export interface ModelEndpoint {
  /** ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL or the OpenAI base URL, as seen from inside the sandbox. */
  baseUrl: string;
  /**
   * What the CLI sends as its API key. Behind a model gateway this is a per-attempt token that is worthless
   * outside that attempt; only in the operator's explicit weaker mode is it the real key.
   */
  apiKey: string;
  /** How the CLI should present `apiKey`: as an API key (default) or as a Claude subscription OAuth token. */
  auth?: 'api-key' | 'oauth';
}

/** One attempt's access to the model APIs. */
export interface ModelAccessGrant {
  /** AppError `unknown_agent` when no credentials are configured for `provider`. */
  endpoint(provider: ModelProvider): ModelEndpoint;
  /** Makes the grant worthless at once and aborts its requests in flight. Idempotent; also runs when `signal` aborts. */
  revoke(): Promise<void>;
}

export interface ModelAccessRequest {
  jobId: string;
  attempt: number;
  /** The attempt's meter: a gateway reports the usage it sees there and refuses calls once the budget is spent. */
  usage: UsageMeter;
  /** The attempt's signal: the grant dies with it (cancel, timeout, budget stop, shutdown). */
  signal: AbortSignal;
}

/**
 * Hands each job attempt the means to call its model API. The guarantee of the gateway implementation: the
 * operator's model keys stay in the worker, and what the sandbox gets stops working when the attempt ends.
 */
export interface ModelAccess {
  grant(request: ModelAccessRequest): Promise<ModelAccessGrant>;
}
