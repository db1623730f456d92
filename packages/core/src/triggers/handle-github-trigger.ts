import { SERVICE_COMMENT_MARKER, type CodeJobData, type GitHubTrigger, type GitHubTriggerFollow } from '@tinyb/contracts';
import type { Logger } from '../logger.js';
import type { IssueTracker, ReactionTarget, RepoRole } from '../ports/issue-tracker.js';
import { queuedComment, statusCommentMarker, type StatusLinks } from './status-comment.js';

/** The roles that may ask for work: the ones that can push to the repository themselves. */
const WRITERS: ReadonlySet<RepoRole> = new Set(['admin', 'maintain', 'write']);

export interface TriggerSettings {
  /** GITHUB_URL: the repository's URL in the job is built on it. */
  githubUrl: string;
  /** The agent of a triggered job (DEFAULT_AGENT). */
  agent: string;
  /** Who owns triggered jobs in the API (`GET /api/jobs` of that tenant lists them). */
  tenant: string;
  /** Links for a job's status comment. */
  links(jobId: string): StatusLinks;
}

export interface GitHubTriggerDeps {
  tracker: IssueTracker;
  /**
   * Queues the code job under `jobId`, recording `job.queued` first. The same `jobId` again returns
   * `created: false` and queues nothing, so a retried trigger starts one job.
   */
  submitJob(jobId: string, data: CodeJobData): Promise<{ created: boolean }>;
  /** Starts following the job to its end (once per job), to edit the status comment then. */
  follow(follow: GitHubTriggerFollow): Promise<void>;
  settings: TriggerSettings;
  logger: Logger;
}

export type TriggerOutcome = { kind: 'refused'; role: RepoRole } | { kind: 'queued'; jobId: string; created: boolean; statusCommentId: number };

/** The job a delivery starts: one per delivery, whatever retries happen, so its id is the delivery's. */
export function triggeredJobId(trigger: GitHubTrigger): string {
  return `gh-${trigger.deliveryId}`;
}

/**
 * A verified request from GitHub, acted on: the sender must be able to write to the repository (asked of
 * GitHub, never inferred from the payload, which says how someone relates to the repository but not what
 * they may do); then 👀 where they asked, the code job queued, a reply that links its status, and a follower
 * that edits the reply when the job ends. Every step is idempotent, so the whole may be retried after any
 * failure: the job id comes from the delivery, the reply is found again by its marker, the follower is one
 * per job. A refused sender gets no answer at all: a stranger cannot make the service talk.
 */
export async function handleGitHubTrigger(trigger: GitHubTrigger, deps: GitHubTriggerDeps, signal: AbortSignal): Promise<TriggerOutcome> {
  const { tracker, settings } = deps;
  const repo = trigger.repo;
  const logger = deps.logger.child({ deliveryId: trigger.deliveryId, repo: `${repo.owner}/${repo.name}`, sender: trigger.sender, source: trigger.source.kind });

  const role = await tracker.roleOf(repo, trigger.sender, signal);
  if (!WRITERS.has(role)) {
    logger.info({ role }, 'github trigger refused: the sender cannot write to the repository');
    return { kind: 'refused', role };
  }

  const source = trigger.source;
  const reactTo: ReactionTarget = source.kind === 'issue_label' ? { kind: 'issue', number: source.issueNumber } : { kind: 'comment', id: source.commentId };
  await tracker.react(repo, reactTo, 'eyes', signal);

  const jobId = triggeredJobId(trigger);
  const { created } = await deps.submitJob(jobId, jobData(trigger, settings));

  const issueNumber = source.kind === 'pull_request_comment' ? source.pullNumber : source.issueNumber;
  const links = settings.links(jobId);
  const marker = statusCommentMarker(jobId);
  const existing = (await tracker.listComments(repo, issueNumber, signal)).find((c) => c.body.includes(SERVICE_COMMENT_MARKER) && c.body.includes(marker));
  const comment = existing ?? (await tracker.createComment(repo, issueNumber, queuedComment(jobId, trigger.sender, links), signal));

  await deps.follow({ jobId, repo, issueNumber, statusCommentId: comment.id, requester: trigger.sender, since: new Date().toISOString() });
  logger.info({ jobId, created, statusCommentId: comment.id }, 'github trigger queued a job');
  return { kind: 'queued', jobId, created, statusCommentId: comment.id };
}

/** The code job a trigger asks for: on an issue it fixes that issue; on a pull request it continues it. */
export function jobData(trigger: GitHubTrigger, settings: TriggerSettings): CodeJobData {
  const { owner, name } = trigger.repo;
  const source = trigger.source;
  return {
    repo: { owner, name, url: `${new URL(settings.githubUrl).origin}/${owner}/${name}` },
    prompt: trigger.prompt,
    agent: settings.agent,
    draft: false,
    requestedAt: trigger.receivedAt,
    requestedBy: `@${trigger.sender}`,
    tenant: settings.tenant,
    ...(source.kind === 'pull_request_comment' ? { followUp: { number: source.pullNumber, url: source.pullUrl } } : { fixesIssue: source.issueNumber }),
  };
}
