import { z } from 'zod';
import { ApiKeysError, parseApiKeys, type ApiKeyEntry } from '@tinyb/auth';
import { AGENT_NAME, BUILT_IN_AGENTS } from '@tinyb/contracts';
import { commonEnv, intFromEnv, observabilityEnv, parseEnv } from '@tinyb/runtime';

/** `tenant:<sha256 hex of the key>,…`, parsed at start so a malformed entry stops the API with a clear message. */
const apiKeys = z
  .string()
  .default('')
  .transform((spec, ctx): ApiKeyEntry[] => {
    try {
      return parseApiKeys(spec);
    } catch (err) {
      if (!(err instanceof ApiKeysError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  });

/** `claude-code,gemini,…`: each name becomes a queue (`code.<name>`), so it must be a plain lowercase word. */
const knownAgents = z
  .string()
  .default(BUILT_IN_AGENTS.join(','))
  .transform((list) => [...new Set(list.split(',').map((name) => name.trim()).filter(Boolean))])
  .pipe(z.array(z.string().regex(AGENT_NAME, 'each agent must be lowercase letters, digits, ., _ or -')).min(1, 'must name an agent'));

const ApiEnv = z.object({
  ...commonEnv,
  ...observabilityEnv,
  PORT: intFromEnv.min(0).max(65535).default(8000),
  HOST: z.string().default('0.0.0.0'),
  /**
   * The admin key: sees and cancels every tenant's jobs and opens Bull Board. With neither API_TOKEN nor
   * API_KEYS, the API is open and everyone is admin.
   */
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Tenants and the SHA-256 of each one's key: `alice:<hex>,bob:<hex>` (`printf %s "$KEY" | sha256sum`). */
  API_KEYS: apiKeys,
  /** Submits each tenant may make per minute; 0 turns the limit off. Admins are not limited. */
  RATE_LIMIT_SUBMITS_PER_MIN: intFromEnv.min(0).default(60),
  /** Jobs each tenant may have queued or running at once; 0 turns the cap off. Admins are not capped. */
  MAX_ACTIVE_JOBS_PER_TENANT: intFromEnv.min(0).default(20),
  /**
   * The agents this deployment knows: a job for any of them is accepted even while no worker that has it runs
   * (it waits in the agent's queue); any other name is refused. Workers say which of them they can run.
   */
  KNOWN_AGENTS: knownAgents,
  /** The agent of a job that names none; one of KNOWN_AGENTS. */
  DEFAULT_AGENT: z.string().default('claude-code'),
  JOB_ATTEMPTS: intFromEnv.min(1).max(10).default(3),
  /** First retry delay; it doubles with each further attempt. */
  JOB_BACKOFF_MS: intFromEnv.min(0).default(15_000),
  /**
   * A comment on every event stream this often, so proxies keep idle streams open. 30 s is half the usual
   * idle timeout (nginx, ALB, ingress-nginx: 60 s; Heroku: 55 s); each round is one write per open stream
   * (10,000 streams every 15 s cost ~1.4% of a core here, every 30 s ~0.8%).
   */
  SSE_HEARTBEAT_MS: intFromEnv.positive().default(30_000),
  /** API processes on the one port (node:cluster); default: one per core. 1 runs the API in the started process. */
  API_PROCESSES: intFromEnv.min(1).max(256).optional(),
  /** Above this event-loop lag (ms) new event streams are answered 503 with Retry-After; 0 turns shedding off. */
  SSE_SHED_LAG_MS: intFromEnv.min(0).default(200),
  /** Event streams each API process holds at most (then 503 with Retry-After); 0: no cap. */
  MAX_STREAMS_PER_PROCESS: intFromEnv.min(0).default(20_000),
  /** Where the web console's build is (served under /ui/); default: apps/web/dist of this checkout. */
  WEB_DIST_DIR: z.string().min(1).optional(),
  /**
   * The longest a request waits for one Redis command. The API's connection queues nothing while Redis is
   * away, so this only bounds a Redis that is connected but silent (paused, partitioned); past it: 503.
   */
  REDIS_COMMAND_TIMEOUT_MS: intFromEnv.positive().default(1_000),
  /**
   * Optional read access to GitHub for follow-ups on pull requests (a token that can read the repositories'
   * pull requests). Set, a closed PR (409) or a fork's PR (422) is refused at submit time and the PR's head is
   * pinned, so a push after the request fails the job (pr_branch_moved). Unset, the worker alone judges.
   */
  GITHUB_TOKEN: z.string().min(1).optional(),
  GITHUB_API_URL: z.string().url().default('https://api.github.com'),
  /**
   * The secret of the GitHub webhook (`POST /webhooks/github`): GitHub signs each delivery with it. Unset, the
   * route does not exist (404): GitHub as a trigger is off.
   */
  GITHUB_WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters (e.g. openssl rand -hex 32)').optional(),
  /** The issue label that asks for a job (compared case-insensitively). */
  TRIGGER_LABEL: z.string().trim().min(1).max(50).default('tinyb'),
}).superRefine((env, ctx) => {
  if (!env.KNOWN_AGENTS.includes(env.DEFAULT_AGENT)) {
    ctx.addIssue({ code: 'custom', path: ['DEFAULT_AGENT'], message: `must be one of KNOWN_AGENTS (${env.KNOWN_AGENTS.join(', ')})` });
  }
});
export type ApiEnv = z.infer<typeof ApiEnv>;

export function loadApiEnv(env: NodeJS.ProcessEnv = process.env): ApiEnv {
  return parseEnv(ApiEnv, env);
}
