import { ClaudeCodeAgent, CodexAgent, GeminiAgent, OpenAiCompatibleAgent, resolveClaudeExecutable, resolveCodexExecutable, resolveGeminiCli } from '@tinyb/agents';
import { AppError, type CodingAgent, type Logger, type Sandbox, type SandboxProvider } from '@tinyb/core';
import {
  GitHubAppCredentials,
  CheckoutCache,
  GitHubHost,
  PersonalTokenCredentials,
  loadGitHubAppPrivateKey,
  type GitHubCredentials,
} from '@tinyb/git-host';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DaytonaSandboxProvider,
  EgressAllowList,
  EgressProxy,
  LocalSandboxProvider,
  SandboxReaper,
  WarmSandboxPool,
  findBwrap,
  type SandboxNetworkOptions,
  type SandboxPortForward,
} from '@tinyb/sandbox';
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
  // Under an app the commits stay its bot's; in token mode they may name the operator's chosen author.
  const commitAuthor =
    credentials instanceof PersonalTokenCredentials && env.COMMIT_AUTHOR_NAME && env.COMMIT_AUTHOR_EMAIL
      ? { commitAuthor: { name: env.COMMIT_AUTHOR_NAME, email: env.COMMIT_AUTHOR_EMAIL } }
      : {};
  const checkoutCache = new CheckoutCache({ dir: env.CHECKOUT_CACHE_DIR ?? (await ownCheckoutCacheDir(logger)), maxBytes: env.CHECKOUT_CACHE_MAX_BYTES });
  return new GitHubHost({ credentials, gitUrl: env.GITHUB_URL, ...commitAuthor, checkoutCache, logger });
}

/**
 * The default checkout cache: a directory of this process under `$TMPDIR/tinyb-checkout-cache/`, removed when the
 * process exits. Repositories (private ones too) must not outlive the worker on the host: directories of workers
 * that are gone (killed, crashed) are removed here at start.
 */
async function ownCheckoutCacheDir(logger: Logger): Promise<string> {
  const parent = path.join(os.tmpdir(), 'tinyb-checkout-cache');
  await mkdir(parent, { recursive: true, mode: 0o700 });
  for (const name of await readdir(parent)) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid || isRunning(pid)) continue;
    await rm(path.join(parent, name), { recursive: true, force: true });
    logger.info({ pid }, 'removed the checkout cache of a worker that is gone');
  }
  const dir = path.join(parent, String(process.pid));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Every agent whose credentials are configured, by the name jobs use. The CLI agents get no key: each run
 * brings its attempt's endpoint from the model access (the gateway). On Daytona the CLIs are the image's own
 * commands, looked up on the image's PATH; a configured path is a path inside the image, never resolved here.
 */
export function buildAgents(env: WorkerEnv): Map<string, CodingAgent> {
  const agents: CodingAgent[] = [];
  const remote = env.SANDBOX_PROVIDER === 'daytona';
  if (env.ANTHROPIC_API_KEY || env.CLAUDE_CODE_OAUTH_TOKEN) {
    agents.push(
      new ClaudeCodeAgent({
        executable: env.CLAUDE_CODE_PATH ?? (remote ? 'claude' : resolveClaudeExecutable()),
        ...(env.CLAUDE_MODEL ? { defaultModel: env.CLAUDE_MODEL } : {}),
      }),
    );
  }
  if (env.GEMINI_API_KEY) {
    agents.push(
      new GeminiAgent({
        executable: env.GEMINI_CLI_PATH ?? (remote ? 'gemini' : resolveGeminiCli()),
        ...(env.GEMINI_MODEL ? { defaultModel: env.GEMINI_MODEL } : {}),
      }),
    );
  }
  if (env.CODEX_API_KEY) {
    agents.push(
      new CodexAgent({
        executable: env.CODEX_PATH ?? (remote ? 'codex' : resolveCodexExecutable()),
        ...(env.CODEX_MODEL ? { defaultModel: env.CODEX_MODEL } : {}),
      }),
    );
  }
  if (env.OPENAI_MODEL) {
    const pricing =
      env.OPENAI_INPUT_USD_PER_MTOK !== undefined && env.OPENAI_OUTPUT_USD_PER_MTOK !== undefined
        ? { inputPerMTokUsd: env.OPENAI_INPUT_USD_PER_MTOK, outputPerMTokUsd: env.OPENAI_OUTPUT_USD_PER_MTOK }
        : undefined;
    // The loop runs in the worker and only its tools touch the sandbox: its key never goes there.
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
  }): Promise<{ stop(): Promise<void>; sweepNow(): Promise<void> }>;
  /** What the attempt registry records of a sandbox, so another worker can destroy it if this one dies. */
  describe(sandbox: Sandbox): LeftoverSandboxRef;
  /** Local sandboxes are one machine's directories and processes: only a worker on that machine can destroy them. */
  sandboxesAreLocal: boolean;
  /** Destroys the sandbox of an attempt whose worker is gone (its processes too); idempotent. */
  destroyLeftover(ref: LeftoverSandboxRef): Promise<void>;
  close(): Promise<void>;
}

/** A sandbox as the attempt registry records it. */
export interface LeftoverSandboxRef {
  provider: string;
  id: string;
  dir?: string;
}

/** The worker's private directory (mode 700) for the sockets it binds into sandboxes; removed at shutdown. */
export async function createRuntimeDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tiny-backspace-worker-'));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The port local sandboxes reach the egress proxy on (HTTPS_PROXY inside). */
const SANDBOX_PROXY_PORT = 3128;

/**
 * Local sandboxes' only way to the internet: an allow-listing CONNECT proxy for SANDBOX_EGRESS_ALLOW (package
 * registries and the like), none when the list is empty. Daytona sandboxes use Daytona's own allow-list.
 */
export async function buildEgressProxy(
  env: WorkerEnv,
  logger: Logger,
  runtimeDir: string,
): Promise<{ forward: SandboxPortForward; close(): Promise<void> } | undefined> {
  const allow = EgressAllowList.parse(env.SANDBOX_EGRESS_ALLOW);
  if (env.SANDBOX_PROVIDER !== 'local' || env.SANDBOX_EGRESS_ALLOW.trim() === '') return undefined;
  const socketPath = path.join(runtimeDir, 'egress-proxy.sock');
  const proxy = await EgressProxy.start({ socketPath, allow, logger });
  logger.info({ allow: env.SANDBOX_EGRESS_ALLOW }, 'sandbox egress proxy started');
  return { forward: { port: SANDBOX_PROXY_PORT, hostSocketPath: socketPath }, close: () => proxy.close() };
}

/** Where sandboxes may connect: the model gateway, and for local sandboxes the egress proxy's allow-list. */
export interface SandboxReach {
  /** Local bwrap sandboxes: sockets relayed into each sandbox's own loopback. */
  network: SandboxNetworkOptions;
  /** Daytona sandboxes: the hosts their egress allow-list must hold for the model calls. */
  modelHosts: string[];
}

export async function buildSandbox(env: WorkerEnv, logger: Logger, reach: SandboxReach): Promise<SandboxSetup> {
  // Nothing of a job can be running past its time limit: older leftovers belong to crashed workers.
  const staleAfterMs = env.JOB_TIMEOUT_MS + 60_000;
  if (env.SANDBOX_PROVIDER === 'daytona') {
    const provider = buildDaytonaProvider(env, logger, reach.modelHosts);
    await provider.check();
    // Waiting sandboxes are replaced well before Daytona's auto-stop and the reaper's age limit would take them.
    const pool =
      env.DAYTONA_POOL_SIZE > 0
        ? new WarmSandboxPool({ provider, size: env.DAYTONA_POOL_SIZE, maxIdleMs: Math.min(env.DAYTONA_AUTO_STOP_MIN * 60_000 * 0.66, staleAfterMs / 2), logger })
        : undefined;
    pool?.start();
    return {
      provider: pool ?? provider,
      async startHousekeeping({ isJobActive, lease }) {
        const reaper = new SandboxReaper({ provider, isJobActive, lease, maxAgeMs: staleAfterMs, intervalMs: env.SANDBOX_REAPER_INTERVAL_MS, logger });
        reaper.start();
        return { stop: () => reaper.stop(), sweepNow: async () => void (await reaper.sweepOnce()) };
      },
      describe: (sandbox) => ({ provider: provider.name, id: sandbox.id }),
      sandboxesAreLocal: false,
      destroyLeftover: (ref) => provider.deleteById(ref.id),
      close: async () => {
        await pool?.close();
        await provider.close();
      },
    };
  }
  const provider = await buildLocalSandboxProvider(env, logger, reach.network);
  return {
    provider,
    async startHousekeeping() {
      const swept = await provider.sweepStale(staleAfterMs);
      if (swept > 0) logger.warn({ swept }, 'removed sandboxes left by a crashed worker');
      return { stop: async () => undefined, sweepNow: async () => undefined };
    },
    describe: (sandbox) => ({ provider: provider.name, id: sandbox.id, dir: provider.dirOf(sandbox.id) }),
    sandboxesAreLocal: true,
    async destroyLeftover(ref) {
      // A record names its directory; one outside this worker's root (another SANDBOX_ROOT) is not ours to remove.
      if (ref.dir !== undefined && ref.dir !== provider.dirOf(ref.id)) {
        throw new AppError('sandbox_failed', `sandbox ${ref.id} lives in ${ref.dir}, outside this worker's root ${provider.rootDir}`);
      }
      await provider.destroyLeftover(ref.id);
    },
    close: async () => undefined,
  };
}

function buildDaytonaProvider(env: WorkerEnv, logger: Logger, modelHosts: string[]): DaytonaSandboxProvider {
  const source = env.DAYTONA_SNAPSHOT
    ? { snapshot: env.DAYTONA_SNAPSHOT }
    : { image: env.DAYTONA_IMAGE ?? '', resources: { cpu: env.DAYTONA_CPU, memoryGiB: env.DAYTONA_MEMORY_GIB, diskGiB: env.DAYTONA_DISK_GIB } };
  const allow = networkAllowDomains(env, modelHosts);
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

/**
 * Sandboxes need to reach only where their model calls go: the gateway's public host (or, in the weaker
 * mode, the model APIs themselves), plus what the operator lists. The openai agent's calls leave from the worker.
 */
function networkAllowDomains(env: WorkerEnv, modelHosts: string[]): string[] | undefined {
  if (env.DAYTONA_NETWORK_ALLOW === '*') return undefined;
  const listed = (env.DAYTONA_NETWORK_ALLOW ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  const hosts = [...new Set([...modelHosts, ...listed])];
  return hosts.length > 0 ? hosts : undefined;
}

async function buildLocalSandboxProvider(env: WorkerEnv, logger: Logger, network: SandboxNetworkOptions): Promise<LocalSandboxProvider> {
  const rootDir = env.SANDBOX_ROOT === undefined ? {} : { rootDir: env.SANDBOX_ROOT };
  if (findBwrap()) return LocalSandboxProvider.create({ isolation: 'bwrap', network, ...rootDir });
  if (!env.SANDBOX_ALLOW_UNISOLATED) {
    throw new AppError(
      'sandbox_unavailable',
      'bubblewrap (bwrap) is not installed: install it (apt-get install bubblewrap) or set SANDBOX_ALLOW_UNISOLATED=true',
    );
  }
  logger.warn({}, 'SANDBOX_ALLOW_UNISOLATED=true: agents run WITHOUT isolation, directly on this machine');
  return LocalSandboxProvider.create({ isolation: 'none', ...rootDir });
}
