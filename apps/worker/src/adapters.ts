import { ClaudeCodeAgent, GeminiAgent, OpenAiCompatibleAgent, resolveClaudeExecutable, resolveGeminiCli } from '@tinyb/agents';
import { AppError, type CodingAgent, type Logger } from '@tinyb/core';
import {
  GitHubAppCredentials,
  GitHubHost,
  PersonalTokenCredentials,
  loadGitHubAppPrivateKey,
  type GitHubCredentials,
} from '@tinyb/git-host';
import { LocalSandboxProvider, findBwrap } from '@tinyb/sandbox';
import type { WorkerEnv } from './env.js';

/**
 * The worker's adapters, each chosen from configuration in one place. Only main.ts calls these: together
 * they are the composition root.
 */

export async function buildGitHost(env: WorkerEnv, logger: Logger): Promise<GitHubHost> {
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
    credentials = new GitHubAppCredentials({ appId: env.GITHUB_APP_ID, privateKey, ...common });
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

export async function buildLocalSandboxProvider(env: WorkerEnv, logger: Logger): Promise<LocalSandboxProvider> {
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
