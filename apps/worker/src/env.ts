import { z } from 'zod';
import { booleanFromEnv, commonEnv, intFromEnv, observabilityEnv, parseEnv } from '@tinyb/runtime';

const WorkerEnv = z
  .object({
    ...commonEnv,
    ...observabilityEnv,
    /** Where this worker serves its Prometheus metrics (`GET /metrics`); 0 serves none. */
    METRICS_PORT: intFromEnv.min(0).max(65535).default(9464),
    WORKER_CONCURRENCY: intFromEnv.min(1).max(64).default(2),
    /** Grace period on SIGTERM for running jobs; past it they are handed back to the queue for another worker. */
    WORKER_SHUTDOWN_TIMEOUT_MS: intFromEnv.positive().default(5 * 60_000),
    /**
     * How long a job's lock (and this worker's liveness beat) lasts without renewal; both are renewed every
     * quarter of it. After a worker dies its jobs are taken over within this plus WORKER_STALLED_INTERVAL_MS
     * (≤ 9 s by default). An event loop blocked for longer than about three quarters of it makes the job look
     * lost: it is then taken over while still running.
     */
    WORKER_LOCK_DURATION_MS: intFromEnv.min(1_000).default(8_000),
    /** How often the fleet looks for jobs whose lock expired (each worker checks; one check per interval runs). */
    WORKER_STALLED_INTERVAL_MS: intFromEnv.min(100).default(1_000),
    JOB_TIMEOUT_MS: intFromEnv.positive().default(30 * 60_000),
    AGENT_TIMEOUT_MS: intFromEnv.positive().default(20 * 60_000),
    AGENT_MAX_TURNS: intFromEnv.min(1).max(500).default(50),
    /**
     * Checks before the pull request (see README): one check's time limit, one run of all checks' limit, and how
     * many more agent runs a failing check gets (0: report only). CHECKS_ENABLED=false runs none.
     */
    CHECKS_ENABLED: booleanFromEnv.default(true),
    CHECK_TIMEOUT_MS: intFromEnv.positive().default(10 * 60_000),
    CHECKS_TOTAL_TIMEOUT_MS: intFromEnv.positive().default(20 * 60_000),
    CHECK_FIX_ROUNDS: intFromEnv.min(0).max(10).default(2),
    /** Limits on what one job may change. */
    MAX_CHANGED_FILES: intFromEnv.positive().default(500),
    MAX_CHANGE_BYTES: intFromEnv.positive().default(50 * 1024 * 1024),
    /** Per-job budget (all attempts together); a job may ask for less, never more. Unset: no limit. */
    JOB_MAX_COST_USD: z.coerce.number().positive().optional(),
    JOB_MAX_TOKENS: intFromEnv.positive().optional(),
    BRANCH_PREFIX: z.string().regex(/^[A-Za-z0-9._\/-]*$/).default('tinyb/'),
    /**
     * Where users reach the API (e.g. `https://tinyb.example.com`): a follow-up's PR comment links the job's events
     * under it. Unset, the comment gives the API path alone.
     */
    PUBLIC_URL: z.string().url().optional(),

    /**
     * GitHub as a trigger: this worker takes the deliveries the API's webhook route queues (checks the sender's
     * access, reacts, queues the job, replies and edits the reply when the job ends). Off: it leaves them to others.
     */
    GITHUB_TRIGGERS: booleanFromEnv.default(true),
    /** The agent of jobs asked for on GitHub. */
    TRIGGER_AGENT: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/).default('claude-code'),
    /** The tenant that owns jobs asked for on GitHub (its API key lists them; admins see them all). */
    TRIGGER_TENANT: z.string().min(1).max(100).default('github'),
    /** How often a triggered job is looked at, to edit its GitHub status comment soon after it ends. */
    TRIGGER_FOLLOW_INTERVAL_MS: intFromEnv.min(100).default(10_000),

    /**
     * Checkout archives kept on the worker's disk by repository and commit, so jobs on a commit already seen
     * skip the download (least recently used go first). 0: none kept (each job's archive is still streamed
     * from disk, never held in memory).
     */
    CHECKOUT_CACHE_MAX_BYTES: intFromEnv.min(0).default(2 * 1024 * 1024 * 1024),
    /** Where they are kept; default a directory of this process under the system's temporary directory. */
    CHECKOUT_CACHE_DIR: z.string().optional(),

    SANDBOX_PROVIDER: z.enum(['local', 'daytona']).default('local'),
    SANDBOX_ROOT: z.string().optional(),
    /** Runs agents without bubblewrap isolation. Only for machines where bwrap cannot run and the agent is trusted. */
    SANDBOX_ALLOW_UNISOLATED: booleanFromEnv.default(false),
    /**
     * Hosts local sandboxes may reach besides the model gateway, through the worker's allow-listing CONNECT
     * proxy (comma-separated; `*.example.com` for subdomains), e.g. package registries. Empty: none.
     */
    SANDBOX_EGRESS_ALLOW: z.string().default(''),

    /**
     * The model gateway as remote (Daytona) sandboxes reach it: this worker's gateway port behind the
     * operator's TLS, e.g. `https://gw.example.com`. Local sandboxes reach the gateway through a socket instead.
     */
    MODEL_GATEWAY_PUBLIC_URL: z.string().url().optional(),
    /** Where the gateway listens for remote sandboxes (only with MODEL_GATEWAY_PUBLIC_URL). */
    MODEL_GATEWAY_HOST: z.string().default('0.0.0.0'),
    MODEL_GATEWAY_PORT: intFromEnv.min(1).max(65535).default(8790),
    /**
     * The weaker mode: hand remote sandboxes the real model keys instead of gateway tokens, for Daytona
     * setups that cannot expose the gateway. The agent can then read the key. Logged as a warning at start.
     */
    ALLOW_MODEL_KEY_IN_SANDBOX: booleanFromEnv.default(false),
    DAYTONA_API_KEY: z.string().optional(),
    DAYTONA_API_URL: z.string().url().default('https://app.daytona.io/api'),
    DAYTONA_TARGET: z.string().optional(),
    /** The snapshot built from infra/daytona (fast), or a registry image Daytona builds on first use (slow). */
    DAYTONA_SNAPSHOT: z.string().optional(),
    DAYTONA_IMAGE: z.string().optional(),
    /**
     * Daytona sandboxes kept ready from the snapshot, so a job starts without waiting for one (each is lent to one
     * job, then deleted). Costs that many idle sandboxes. 0: none, every job's sandbox is created for it.
     */
    DAYTONA_POOL_SIZE: intFromEnv.min(0).default(0),
    /** Sandbox resources, with DAYTONA_IMAGE only (a snapshot carries its own). */
    DAYTONA_CPU: intFromEnv.positive().default(2),
    DAYTONA_MEMORY_GIB: intFromEnv.positive().default(4),
    DAYTONA_DISK_GIB: intFromEnv.positive().default(10),
    /** Minutes of inactivity before Daytona stops a sandbox by itself, then deletes it: a backstop for a crashed worker. */
    DAYTONA_AUTO_STOP_MIN: intFromEnv.positive().default(15),
    /**
     * Egress from sandboxes: only these domains (comma-separated). Default: the model API hosts of the
     * configured CLI agents. `*` leaves egress open.
     */
    DAYTONA_NETWORK_ALLOW: z.string().optional(),
    /** Poll sandbox state instead of Daytona's socket.io events (for gateways that do not pass WebSockets, and tests). */
    DAYTONA_USE_DEPRECATED_POLLING: booleanFromEnv.default(false),
    /** How often one worker of the fleet looks for leaked Daytona sandboxes. */
    SANDBOX_REAPER_INTERVAL_MS: intFromEnv.positive().default(60_000),

    /** A token with contents:write and pull_requests:write; or a GitHub App (the two below) instead. */
    GITHUB_TOKEN: z.string().optional(),
    GITHUB_APP_ID: z.string().regex(/^\d+$/, 'must be the numeric App ID').optional(),
    /** The App's private key: PEM text (literal \n allowed) or the path of a .pem file. */
    GITHUB_APP_PRIVATE_KEY: z.string().optional(),
    GITHUB_API_URL: z.string().url().default('https://api.github.com'),
    /** GitHub's write spacing (one write a second). Turn off only for a GitHub Enterprise without secondary limits, or a local fake. */
    GITHUB_THROTTLE: booleanFromEnv.default(true),
    /** Retries of a failed GitHub API call (5xx, 429, network) before the job attempt fails. */
    GITHUB_RETRIES: intFromEnv.min(0).max(10).default(3),
    /**
     * The author of the worker's commits in token mode (the original project's GITHUB_USERNAME and
     * GITHUB_EMAIL are read too). Unset: GitHub attributes commits to the token's user. Under a GitHub App
     * the commits stay the app bot's.
     */
    COMMIT_AUTHOR_NAME: z.string().trim().min(1).optional(),
    COMMIT_AUTHOR_EMAIL: z.string().trim().email().optional(),

    // Agents: each one whose credentials are set is offered (agent names: claude-code, gemini, openai, codex).
    ANTHROPIC_API_KEY: z.string().optional(),
    /** A Claude subscription's token (`claude setup-token`), instead of ANTHROPIC_API_KEY; the key wins when both are set. */
    CLAUDE_CODE_OAUTH_TOKEN: z.string().optional(),
    ANTHROPIC_BASE_URL: z.string().url().optional(),
    CLAUDE_MODEL: z.string().optional(),
    /** The claude binary: a host path (default: the one from the lockfile) or, for Daytona images, a command name. */
    CLAUDE_CODE_PATH: z.string().optional(),
    GEMINI_API_KEY: z.string().optional(),
    GOOGLE_GEMINI_BASE_URL: z.string().url().optional(),
    GEMINI_MODEL: z.string().optional(),
    /** The gemini CLI's entry script: a host path (default: from the lockfile) or, for Daytona images, a command name. */
    GEMINI_CLI_PATH: z.string().optional(),
    OPENAI_API_KEY: z.string().optional(),
    /** Any Chat Completions endpoint: OpenAI, OpenRouter, vLLM, llama.cpp, Ollama (`http://host:11434/v1`). */
    OPENAI_BASE_URL: z.string().url().optional(),
    OPENAI_MODEL: z.string().optional(),
    /** Some servers stream tool calls badly; `false` asks for whole responses. */
    OPENAI_STREAM: booleanFromEnv.default(true),
    /** Prices per million tokens, for cost accounting and cost budgets (the API does not report cost). */
    OPENAI_INPUT_USD_PER_MTOK: z.coerce.number().nonnegative().optional(),
    OPENAI_OUTPUT_USD_PER_MTOK: z.coerce.number().nonnegative().optional(),
    /**
     * The codex agent (OpenAI's Codex CLI) is offered when this is set: an OpenAI key for the Responses API (it may
     * be the same value as OPENAI_API_KEY). It stays in the model gateway; the CLI gets a per-attempt token.
     */
    CODEX_API_KEY: z.string().optional(),
    /** The Responses API upstream, ending in `/v1` (the CLI posts `<base>/responses`). Default OpenAI's. */
    CODEX_BASE_URL: z.string().url().optional(),
    /** Used when a job names no model. Default gpt-5.5 (a model of the CLI's catalog). */
    CODEX_MODEL: z.string().optional(),
    /** The codex binary: a host path (default: the one from the lockfile) or, for Daytona images, a command name. */
    CODEX_PATH: z.string().optional(),
    /** Prices per million tokens for the codex agent's calls (the gateway meters them), for cost and cost budgets. */
    CODEX_INPUT_USD_PER_MTOK: z.coerce.number().nonnegative().optional(),
    CODEX_OUTPUT_USD_PER_MTOK: z.coerce.number().nonnegative().optional(),
  })
  .superRefine((env, ctx) => {
    const problem = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (!env.GITHUB_TOKEN && !(env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY)) {
      problem('GITHUB_TOKEN', 'is required unless a GitHub App is configured (GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY)');
    }
    if (Boolean(env.GITHUB_APP_ID) !== Boolean(env.GITHUB_APP_PRIVATE_KEY)) {
      problem(env.GITHUB_APP_ID ? 'GITHUB_APP_PRIVATE_KEY' : 'GITHUB_APP_ID', 'is required with the other GitHub App setting');
    }
    if ((env.OPENAI_API_KEY || env.OPENAI_BASE_URL) && !env.OPENAI_MODEL) {
      problem('OPENAI_MODEL', 'is required for the openai agent (with OPENAI_API_KEY or OPENAI_BASE_URL)');
    }
    if (env.SANDBOX_PROVIDER === 'daytona') {
      if (!env.DAYTONA_API_KEY) problem('DAYTONA_API_KEY', 'is required with SANDBOX_PROVIDER=daytona');
      if (Boolean(env.DAYTONA_SNAPSHOT) === Boolean(env.DAYTONA_IMAGE)) {
        problem('DAYTONA_SNAPSHOT', 'set exactly one of DAYTONA_SNAPSHOT or DAYTONA_IMAGE with SANDBOX_PROVIDER=daytona');
      }
    }
    if (!env.ANTHROPIC_API_KEY && !env.CLAUDE_CODE_OAUTH_TOKEN && !env.GEMINI_API_KEY && !env.OPENAI_MODEL && !env.CODEX_API_KEY) {
      problem(
        'ANTHROPIC_API_KEY',
        'no agent is configured: set ANTHROPIC_API_KEY (or CLAUDE_CODE_OAUTH_TOKEN), GEMINI_API_KEY, CODEX_API_KEY, or OPENAI_MODEL (+ OPENAI_API_KEY / OPENAI_BASE_URL)',
      );
    }
    if ((env.CODEX_BASE_URL || env.CODEX_MODEL) && !env.CODEX_API_KEY) {
      problem('CODEX_API_KEY', 'is required for the codex agent (with CODEX_BASE_URL or CODEX_MODEL)');
    }
    if (Boolean(env.COMMIT_AUTHOR_NAME) !== Boolean(env.COMMIT_AUTHOR_EMAIL)) {
      problem(env.COMMIT_AUTHOR_NAME ? 'COMMIT_AUTHOR_EMAIL' : 'COMMIT_AUTHOR_NAME', 'is required with the other commit author setting (a commit author has a name and an email)');
    }
    if (env.SANDBOX_PROVIDER === 'daytona' && !env.MODEL_GATEWAY_PUBLIC_URL && !env.ALLOW_MODEL_KEY_IN_SANDBOX) {
      problem(
        'MODEL_GATEWAY_PUBLIC_URL',
        'is required with SANDBOX_PROVIDER=daytona: remote sandboxes reach the model gateway there, so the model keys stay in the worker ' +
          '(or set ALLOW_MODEL_KEY_IN_SANDBOX=true to hand sandboxes the real keys, the weaker mode)',
      );
    }
  });
export type WorkerEnv = z.infer<typeof WorkerEnv>;

export function loadWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(WorkerEnv, withSeedAliases(env));
}

/** The original Tiny Backspace named the commit author GITHUB_USERNAME and GITHUB_EMAIL; ours win when both are set. */
function withSeedAliases(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    ...env,
    COMMIT_AUTHOR_NAME: env.COMMIT_AUTHOR_NAME || env.GITHUB_USERNAME || undefined,
    COMMIT_AUTHOR_EMAIL: env.COMMIT_AUTHOR_EMAIL || env.GITHUB_EMAIL || undefined,
  };
}
