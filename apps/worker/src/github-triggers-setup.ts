import { AppError, followTriggeredJob, handleGitHubTrigger, type JobEventPublisher, type JobStatusReader, type Logger, type StatusLinks } from '@tinyb/core';
import { GitHubAppCredentials, GitHubIssueTracker, PersonalTokenCredentials, loadGitHubAppPrivateKey, type GitHubCredentials } from '@tinyb/git-host';
import { CodeJobQueue, GitHubTriggerQueue, GitHubTriggerWorker, type GitHubTriggerWorkerOptions, type RedisClient } from '@tinyb/queue';
import type { WorkerEnv } from './env.js';

/** What an installation token for the triggers asks for: comments and reactions on issues and PRs, no code. */
const TRIGGER_TOKEN_PERMISSIONS = { issues: 'write', pull_requests: 'write' } as const;
/** A job not over this long after its trigger is no longer followed (its comment keeps saying queued). */
const MAX_FOLLOW_MS = 7 * 24 * 60 * 60 * 1000;

export interface GitHubTriggersDeps {
  redis: RedisClient;
  /** The key prefix as the queues use it (REDIS_PREFIX, hash-tagged on a Redis Cluster). */
  prefix: string;
  /** For the trigger Worker's own connections. */
  connection: GitHubTriggerWorkerOptions['connection'];
  events: JobEventPublisher & JobStatusReader;
  logger: Logger;
  registerSecret(secret: string): void;
}

/**
 * The worker's half of GitHub as a trigger (the API's half verifies and enqueues deliveries): it consumes
 * the `github-triggers` queue, checks each sender's access, reacts, queues the code job with `job.queued`
 * recorded first, replies with its status, and follows it to edit the reply at its end. The GitHub calls use
 * this worker's credentials (a token, or per repository an installation token with issues and pull_requests).
 */
export async function startGitHubTriggers(env: WorkerEnv, deps: GitHubTriggersDeps): Promise<{ close(): Promise<void> }> {
  const logger = deps.logger.child({ component: 'github-triggers' });
  const tracker = new GitHubIssueTracker({ credentials: await triggerCredentials(env, logger, deps.registerSecret), logger });
  const prefix = deps.prefix;
  const triggers = new GitHubTriggerQueue({ redis: deps.redis, prefix, logger });
  // Triggered jobs go to TRIGGER_AGENT's queue, whichever worker runs them.
  const codeJobs = new CodeJobQueue({ redis: deps.redis, prefix, agents: [env.TRIGGER_AGENT], logger });
  const links = (jobId: string): StatusLinks => (env.PUBLIC_URL ? { status: `${env.PUBLIC_URL.replace(/\/+$/, '')}/api/jobs/${jobId}` } : {});

  const worker = new GitHubTriggerWorker(
    {
      delivery: async (trigger, signal) => {
        await handleGitHubTrigger(
          trigger,
          {
            tracker,
            submitJob: (jobId, data) =>
              codeJobs.enqueue(data, {
                jobId,
                idempotencyKey: `github-trigger:${jobId}`,
                beforeAdd: async (id) => {
                  await deps.events.publish(id, {
                    type: 'job.queued',
                    repoUrl: data.repo.url,
                    agent: data.agent,
                    draft: data.draft,
                    ...(data.tenant === undefined ? {} : { tenant: data.tenant }),
                  });
                },
              }),
            follow: (follow) => triggers.follow(follow, env.TRIGGER_FOLLOW_INTERVAL_MS),
            settings: { githubUrl: env.GITHUB_URL, agent: env.TRIGGER_AGENT, tenant: env.TRIGGER_TENANT, links },
            logger,
          },
          signal,
        );
      },
      follow: (follow, signal) =>
        followTriggeredJob(follow, { status: deps.events, tracker, links, recheckMs: env.TRIGGER_FOLLOW_INTERVAL_MS, maxFollowMs: MAX_FOLLOW_MS, logger }, signal),
    },
    { connection: deps.connection, prefix, logger },
  );
  await worker.waitUntilReady();
  logger.info({ agent: env.TRIGGER_AGENT, tenant: env.TRIGGER_TENANT }, 'github triggers consumed');
  return {
    async close() {
      await worker.close();
      await triggers.close();
      await codeJobs.close();
    },
  };
}

/** The same identity as the worker's GitHost (token, or the app), with only the permissions triggers need. */
async function triggerCredentials(env: WorkerEnv, logger: Logger, registerSecret: (secret: string) => void): Promise<GitHubCredentials> {
  const common = { apiUrl: env.GITHUB_API_URL, throttle: { enabled: env.GITHUB_THROTTLE }, retry: { retries: env.GITHUB_RETRIES }, logger };
  if (env.GITHUB_APP_ID && env.GITHUB_APP_PRIVATE_KEY) {
    const privateKey = await loadGitHubAppPrivateKey(env.GITHUB_APP_PRIVATE_KEY, 'GITHUB_APP_PRIVATE_KEY');
    registerSecret(privateKey);
    return new GitHubAppCredentials({ appId: env.GITHUB_APP_ID, privateKey, permissions: TRIGGER_TOKEN_PERMISSIONS, onToken: registerSecret, ...common });
  }
  if (env.GITHUB_TOKEN) return new PersonalTokenCredentials({ token: env.GITHUB_TOKEN, ...common });
  throw new AppError('repo_access_denied', 'set GITHUB_TOKEN, or GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY');
}
