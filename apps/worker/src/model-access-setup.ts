import { createServer } from 'node:net';
import path from 'node:path';
import { GEMINI_PUBLIC_BASE_URL, OPENAI_PUBLIC_BASE_URL } from '@tinyb/agents';
import type { Logger, ModelAccess, ModelCallObserver, ModelEndpoint, ModelProvider } from '@tinyb/core';
import { DirectModelAccess, ModelGateway, type AnthropicUpstream, type GeminiUpstream, type OpenAiUpstream } from '@tinyb/model-gateway';
import { findBwrap, type SandboxPortForward } from '@tinyb/sandbox';
import type { WorkerEnv } from './env.js';

const ANTHROPIC_PUBLIC_BASE_URL = 'https://api.anthropic.com';
/** The port local sandboxes reach the gateway on, on their own loopback (a relay to the gateway's socket). */
export const SANDBOX_GATEWAY_PORT = 8790;

export interface ModelAccessSetup {
  access: ModelAccess;
  /** How local bwrap sandboxes reach the gateway: a socket relayed into their loopback. */
  sandboxForward?: SandboxPortForward;
  /** Hosts a Daytona sandbox must be allowed to reach for its model calls. */
  egressHosts: string[];
  /** Which credential each offered model API uses, for the start-up log line. */
  describe: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The model APIs' credentials stay here: each attempt gets a gateway token that works only while its agent
 * runs. How sandboxes reach the gateway depends on where they run:
 * - local bwrap: a Unix socket in a private directory, relayed into each sandbox's own loopback;
 * - local without isolation (the operator's opt-in): the gateway on the host's loopback;
 * - Daytona: the gateway's TCP port behind MODEL_GATEWAY_PUBLIC_URL, the only host on the sandbox's allow-list;
 *   or, with ALLOW_MODEL_KEY_IN_SANDBOX=true, the real keys handed over (the weaker mode).
 */
export async function buildModelAccess(
  env: WorkerEnv,
  logger: Logger,
  opts: {
    registerSecret(value: string): void;
    /** The worker's private directory (mode 700) for the gateway's socket. */
    runtimeDir: string;
    /** Sees the gateway's upstream calls (metrics, spans). */
    modelCallObserver?: ModelCallObserver | undefined;
  },
): Promise<ModelAccessSetup> {
  const anthropic = anthropicUpstream(env);
  const gemini: GeminiUpstream | undefined = env.GEMINI_API_KEY
    ? { baseUrl: env.GOOGLE_GEMINI_BASE_URL ?? GEMINI_PUBLIC_BASE_URL, apiKey: env.GEMINI_API_KEY }
    : undefined;
  const openai = codexUpstream(env);
  const describe: Record<string, string> = {
    ...(anthropic ? { anthropic: anthropic.apiKey ? 'ANTHROPIC_API_KEY' : 'CLAUDE_CODE_OAUTH_TOKEN' } : {}),
    ...(gemini ? { gemini: 'GEMINI_API_KEY' } : {}),
    ...(openai ? { openai: 'CODEX_API_KEY' } : {}),
  };
  if (env.ANTHROPIC_API_KEY && env.CLAUDE_CODE_OAUTH_TOKEN) {
    logger.warn({}, 'both ANTHROPIC_API_KEY and CLAUDE_CODE_OAUTH_TOKEN are set: Claude Code uses ANTHROPIC_API_KEY');
  }

  if (env.SANDBOX_PROVIDER === 'daytona' && !env.MODEL_GATEWAY_PUBLIC_URL) {
    // env.ts allows this only with ALLOW_MODEL_KEY_IN_SANDBOX=true.
    logger.warn({}, 'ALLOW_MODEL_KEY_IN_SANDBOX=true: sandboxes get the real model keys, and an agent can read them');
    const endpoints: Partial<Record<ModelProvider, ModelEndpoint>> = {
      ...(anthropic ? { anthropic: anthropicDirect(anthropic) } : {}),
      ...(gemini ? { gemini: { baseUrl: gemini.baseUrl, apiKey: gemini.apiKey } } : {}),
      ...(openai?.apiKey ? { openai: { baseUrl: openai.baseUrl, apiKey: openai.apiKey } } : {}),
    };
    return {
      access: new DirectModelAccess(endpoints),
      egressHosts: Object.values(endpoints).map((e) => new URL(e.baseUrl).hostname),
      describe,
      close: async () => undefined,
    };
  }

  const upstreams = { ...(anthropic ? { anthropic } : {}), ...(gemini ? { gemini } : {}), ...(openai ? { openai } : {}) };
  const common = { upstreams, logger, registerSecret: opts.registerSecret, ...(opts.modelCallObserver ? { observer: opts.modelCallObserver } : {}) };
  if (env.SANDBOX_PROVIDER === 'daytona' && env.MODEL_GATEWAY_PUBLIC_URL) {
    const gateway = new ModelGateway({ ...common, sandboxBaseUrl: env.MODEL_GATEWAY_PUBLIC_URL });
    const { url } = await gateway.listen({ host: env.MODEL_GATEWAY_HOST, port: env.MODEL_GATEWAY_PORT });
    logger.info({ listen: url, publicUrl: env.MODEL_GATEWAY_PUBLIC_URL }, 'model gateway listening for remote sandboxes');
    return { access: gateway, egressHosts: [new URL(env.MODEL_GATEWAY_PUBLIC_URL).hostname], describe, close: () => gateway.close() };
  }

  if (!findBwrap()) {
    // buildSandbox refuses this unless SANDBOX_ALLOW_UNISOLATED=true.
    // Unisolated commands share the host's network, so the gateway must be on the host's loopback.
    const port = await freeLoopbackPort();
    const gateway = new ModelGateway({ ...common, sandboxBaseUrl: `http://127.0.0.1:${port}` });
    await gateway.listen({ host: '127.0.0.1', port });
    return { access: gateway, egressHosts: [], describe, close: () => gateway.close() };
  }

  // Private to this worker: only the sandboxes it binds the socket into can reach it.
  const socketPath = path.join(opts.runtimeDir, 'model-gateway.sock');
  const gateway = new ModelGateway({ ...common, sandboxBaseUrl: `http://127.0.0.1:${SANDBOX_GATEWAY_PORT}` });
  await gateway.listen({ socketPath, socketMode: 0o600 });
  return {
    access: gateway,
    sandboxForward: { port: SANDBOX_GATEWAY_PORT, hostSocketPath: socketPath },
    egressHosts: [],
    describe,
    close: () => gateway.close(),
  };
}

/**
 * The gateway's OpenAI upstream serves the codex agent (its CLI in the sandbox speaks the Responses API). The
 * openai agent does not use it: its loop runs in the worker and calls OPENAI_BASE_URL with OPENAI_API_KEY itself.
 */
function codexUpstream(env: WorkerEnv): OpenAiUpstream | undefined {
  if (!env.CODEX_API_KEY) return undefined;
  const pricing =
    env.CODEX_INPUT_USD_PER_MTOK !== undefined && env.CODEX_OUTPUT_USD_PER_MTOK !== undefined
      ? { pricing: { inputPerMTokUsd: env.CODEX_INPUT_USD_PER_MTOK, outputPerMTokUsd: env.CODEX_OUTPUT_USD_PER_MTOK } }
      : {};
  return { baseUrl: env.CODEX_BASE_URL ?? OPENAI_PUBLIC_BASE_URL, apiKey: env.CODEX_API_KEY, ...pricing };
}

/** The API key wins over a subscription token when both are set, as it does for the claude CLI itself. */
function anthropicUpstream(env: WorkerEnv): AnthropicUpstream | undefined {
  const baseUrl = env.ANTHROPIC_BASE_URL ?? ANTHROPIC_PUBLIC_BASE_URL;
  if (env.ANTHROPIC_API_KEY) return { baseUrl, apiKey: env.ANTHROPIC_API_KEY };
  if (env.CLAUDE_CODE_OAUTH_TOKEN) return { baseUrl, oauthToken: env.CLAUDE_CODE_OAUTH_TOKEN };
  return undefined;
}

function anthropicDirect(upstream: AnthropicUpstream): ModelEndpoint {
  return upstream.apiKey
    ? { baseUrl: upstream.baseUrl, apiKey: upstream.apiKey }
    : { baseUrl: upstream.baseUrl, apiKey: upstream.oauthToken ?? '', auth: 'oauth' };
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
