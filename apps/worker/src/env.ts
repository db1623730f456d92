import { z } from 'zod';
import { booleanFromEnv, commonEnv, intFromEnv, parseEnv } from '@tinyb/runtime';

const WorkerEnv = z
  .object({
    ...commonEnv,
    WORKER_CONCURRENCY: intFromEnv.min(1).max(64).default(2),
    /** Grace period on SIGTERM for running jobs; past it they are handed back to the queue for another worker. */
    WORKER_SHUTDOWN_TIMEOUT_MS: intFromEnv.positive().default(5 * 60_000),
    JOB_TIMEOUT_MS: intFromEnv.positive().default(30 * 60_000),
    AGENT_TIMEOUT_MS: intFromEnv.positive().default(20 * 60_000),
    AGENT_MAX_TURNS: intFromEnv.min(1).max(500).default(50),
    /** Limits on what one job may change. */
    MAX_CHANGED_FILES: intFromEnv.positive().default(500),
    MAX_CHANGE_BYTES: intFromEnv.positive().default(50 * 1024 * 1024),
    /** Per-job budget (all attempts together); a job may ask for less, never more. Unset: no limit. */
    JOB_MAX_COST_USD: z.coerce.number().positive().optional(),
    JOB_MAX_TOKENS: intFromEnv.positive().optional(),
    BRANCH_PREFIX: z.string().regex(/^[A-Za-z0-9._\/-]*$/).default('tinyb/'),

    SANDBOX_PROVIDER: z.enum(['local']).default('local'),
    SANDBOX_ROOT: z.string().optional(),
    /** Runs agents without bubblewrap isolation. Only for machines where bwrap cannot run and the agent is trusted. */
    SANDBOX_ALLOW_UNISOLATED: booleanFromEnv.default(false),

    GITHUB_TOKEN: z.string(),
    GITHUB_API_URL: z.string().url().default('https://api.github.com'),
    /** GitHub's write spacing (one write a second). Turn off only for a GitHub Enterprise without secondary limits, or a local fake. */
    GITHUB_THROTTLE: booleanFromEnv.default(true),
    /** Retries of a failed GitHub API call (5xx, 429, network) before the job attempt fails. */
    GITHUB_RETRIES: intFromEnv.min(0).max(10).default(3),

    ANTHROPIC_API_KEY: z.string(),
    ANTHROPIC_BASE_URL: z.string().url().optional(),
    CLAUDE_MODEL: z.string().optional(),
    CLAUDE_CODE_PATH: z.string().optional(),
  });
export type WorkerEnv = z.infer<typeof WorkerEnv>;

export function loadWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(WorkerEnv, env);
}
