import { ClaudeCodeAgent, GeminiAgent, OpenAiCompatibleAgent, resolveClaudeExecutable, resolveGeminiCli } from '@tinyb/agents';
import { AppError, type CodingAgent, type Logger, type SandboxProvider } from '@tinyb/core';
import {
  GitHubAppCredentials,
  GitHubHost,
  PersonalTokenCredentials,
  loadGitHubAppPrivateKey,
  type GitHubCredentials,
} from '@tinyb/git-host';
import { DaytonaSandboxProvider, LocalSandboxProvider, SandboxReaper, findBwrap } from '@tinyb/sandbox';
import type { WorkerEnv } from './env.js';

/**
 * The worker's adapters, each chosen from configuration in one place. Only main.ts calls these: together
 * they are the composition root.
 */

/** `registerSecret` receives the loaded app key and every installation token as it is minted (for the redactor). */
export async function buildGitHost(env: WorkerEnv, logger: Logger, registerSecret: (secret: string) => void): Promise<GitHubHost> {
  const common = {
    apiUrl: env.GITHUB_API_URL,
    throttle: { enabled: env.GITHUB_THROTTLE },
    retry: { retries: env.GITHUB_RETRIES },
    logger,
  };
  let credentials: GitHubCredentials;
  if (env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY) {
    // Per job, a token for that one repository with only the permissions a PR needs, minted in the worker.
    const privateKey = await loadGitHubAppPrivateKey(env.GITHUB_APP_PRIVATE_KEY, 'GITHUB_APP_PRIVATE_KEY');
    registerSecret(privateKey);
    credentials = new GitHubAppCredentials({ appId: env.GITHUB_APP_ID, privateKey, onToken: registerSecret, ...common });
    logger.info({ appId: env.GITHUB_APP_ID }, 'github: authenticating as a GitHub App');
  } else if (env.GITHUB_TOKEN) {
    credentials = new PersonalTokenCredentials({ token: env.GITHUB_TOKEN, ...common });
  } else {
    throw new AppError('repo_access_denied', 'set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY');
  }
  return new GitHubHost({ credentials, gitUrl: env.GITHUB_URL, logger });
}

/** Every agent whose credentials are configured, by the name jobs use. */
export function buildAgents(env: WorkerEnv): Map<string, CodingAgent> {
  const agents: CodingAgent[] = [];
  if (env.ANTHROPIC_API_KEY) {
    agents.push(
      new ClaudeCodeAgent({
        executable: env.CLAUDE_CODE_PATH ?? resolveClaudeExecutable(),
        apiKey: env.ANTHROPIC_API_KEY,
        ...(env.ANTHROPIC_BASE_URL ? { baseUrl: env.ANTHROPIC_BASE_URL } : {}),
        ...(env.CLAUDE_MODEL ? { defaultModel: env.CLAUDE_MODEL } : {}),
      }),
    );
  }
  if (env.GEMINI_API_KEY) {
    agents.push(
      new GeminiAgent({
        executable: env.GEMINI_CLI_PATH ?? resolveGeminiCli(),
        apiKey: env.GEMINI_API_KEY,
        ...(env.GOOGLE_GEMINI_BASE_URL ? { baseUrl: env.GOOGLE_GEMINI_BASE_URL } : {}),
        ...(env.GEMINI_MODEL ? { defaultModel: env.GEMINI_MODEL } : {}),
      }),
    );
  }
  if (env.OPENAI_MODEL) {
    const pricing =
      env.OPENAI_INPUT_USD_PER_MTOK !== undefined && env.OPENAI_OUTPUT_USD_PER_MTOK !== undefined
        ? { inputPerMTokUsd: env.OPENAI_INPUT_USD_PER_MTOK, outputPerMTokUsd: env.OPENAI_OUTPUT_USD_PER_MTOK }
        : undefined;
    agents.push(
      new OpenAiCompatibleAgent({
        model: env.OPENAI_MODEL,
        ...(env.OPENAI_BASE_URL ? { baseUrl: env.OPENAI_BASE_URL } : {}),
        ...(env.OPENAI_API_KEY ? { apiKey: env.OPENAI_API_KEY } : {}),
        stream: env.OPENAI_STREAM,
        ...(pricing ? { pricing } : {}),
      }),
    );
  }
  return new Map(agents.map((agent) => [agent.name, agent]));
}

export interface SandboxSetup {
  provider: SandboxProvider;
  /**
   * Cleans up after crashed workers: local sandboxes left on this machine once at start; for Daytona, a
   * fleet-wide reaper (one worker at a time) that deletes leaked paid sandboxes every interval.
   */
  startHousekeeping(deps: {
    isJobActive(jobId: string): Promise<boolean>;
    lease: { tryAcquire(ttlMs: number): Promise<boolean>; release(): Promise<void> };
  }): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

export async function buildSandbox(env: WorkerEnv, logger: Logger): Promise<SandboxSetup> {
  // Nothing of a job can be running past its time limit: older leftovers belong to crashed workers.
  const staleAfterMs = env.JOB_TIMEOUT_MS + 60_000;
  if (env.SANDBOX_PROVIDER === 'daytona') {
    const provider = buildDaytonaProvider(env, logger);
    await provider.check();
    return {
      provider,
      async startHousekeeping({ isJobActive, lease }) {
        const reaper = new SandboxReaper({ provider, isJobActive, lease, maxAgeMs: staleAfterMs, intervalMs: env.SANDBOX_REAPER_INTERVAL_MS, logger });
        reaper.start();
        return { stop: () => reaper.stop() };
      },
      close: () => provider.close(),
    };
  }
  const provider = await buildLocalSandboxProvider(env, logger);
  return {
    provider,
    async startHousekeeping() {
      const swept = await provider.sweepStale(staleAfterMs);
      if (swept > 0) logger.warn({ swept }, 'removed sandboxes left by a crashed worker');
      return { stop: async () => undefined };
    },
    close: async () => undefined,
  };
}

function buildDaytonaProvider(env: WorkerEnv, logger: Logger): DaytonaSandboxProvider {
  const source = env.DAYTONA_SNAPSHOT
    ? { snapshot: env.DAYTONA_SNAPSHOT }
    : { image: env.DAYTONA_IMAGE ?? '', resources: { cpu: env.DAYTONA_CPU, memoryGiB: env.DAYTONA_MEMORY_GIB, diskGiB: env.DAYTONA_DISK_GIB } };
  const allow = networkAllowDomains(env);
  return new DaytonaSandboxProvider({
    ...source,
    daytona: {
      apiKey: env.DAYTONA_API_KEY ?? '',
      apiUrl: env.DAYTONA_API_URL,
      ...(env.DAYTONA_TARGET ? { target: env.DAYTONA_TARGET } : {}),
      useDeprecatedPolling: env.DAYTONA_USE_DEPRECATED_POLLING,
    },
    autoStopIntervalMin: env.DAYTONA_AUTO_STOP_MIN,
    // Deleted as soon as it stops: an abandoned sandbox costs at most DAYTONA_AUTO_STOP_MIN of idling.
    autoDeleteIntervalMin: 0,
    ...(allow ? { networkAllowDomains: allow } : {}),
    createTimeoutSec: 180,
    logger,
  });
}

/** Sandboxes need to reach only the model APIs of the CLI agents (the openai agent runs in the worker). */
function networkAllowDomains(env: WorkerEnv): string[] | undefined {
  if (env.DAYTONA_NETWORK_ALLOW === '*') return undefined;
  if (env.DAYTONA_NETWORK_ALLOW) return env.DAYTONA_NETWORK_ALLOW.split(',').map((d) => d.trim()).filter(Boolean);
  const hosts: string[] = [];
  if (env.ANTHROPIC_API_KEY) hosts.push(new URL(env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com').hostname);
  if (env.GEMINI_API_KEY) hosts.push(new URL(env.GOOGLE_GEMINI_BASE_URL ?? 'https://generativelanguage.googleapis.com').hostname);
  return hosts.length > 0 ? hosts : undefined;
}

async function buildLocalSandboxProvider(env: WorkerEnv, logger: Logger): Promise<LocalSandboxProvider> {
  const rootDir = env.SANDBOX_ROOT === undefined ? {} : { rootDir: env.SANDBOX_ROOT };
  if (findBwrap()) return LocalSandboxProvider.create({ isolation: 'bwrap', ...rootDir });
  if (!env.SANDBOX_ALLOW_UNISOLATED) {
    throw new AppError(
      'sandbox_unavailable',
      'bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap) or set SANDBOX_ALLOW_UNISOLATED=true',
    );
  }
  logger.warn({}, 'SANDBOX_ALLOW_UNISOLATED=true: agents run WITHOUT isolation, directly on this machine');
  return LocalSandboxProvider.create({ isolation: 'none', ...rootDir });
}
