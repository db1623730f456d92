import type { GitHubTriggerFollow } from '@tinyb/contracts';
import type { Logger } from '../logger.js';
import type { JobStatusReader } from '../ports/job-events.js';
import type { IssueTracker } from '../ports/issue-tracker.js';
import { finishedComment, type StatusLinks } from './status-comment.js';

export interface FollowDeps {
  status: JobStatusReader;
  tracker: IssueTracker;
  links(jobId: string): StatusLinks;
  /** How long to wait before the next look at a job still queued or running. */
  recheckMs: number;
  /** A job not over this long after following began is given up on (its comment keeps saying queued). */
  maxFollowMs: number;
  logger: Logger;
}

export type FollowOutcome = { done: true } | { done: false; recheckInMs: number };

/**
 * One look at a triggered job: over (succeeded, failed, cancelled, or its record gone), its status comment
 * is edited with the pull request or the error; otherwise look again later. It reads the job's folded status,
 * whoever ended the job (a worker, the API's cancel, the stalled-job checker), and holds nothing between
 * looks, so a follower survives any worker's restart. Editing is idempotent: a look repeated after a crash
 * writes the same text.
 */
export async function followTriggeredJob(follow: GitHubTriggerFollow, deps: FollowDeps, signal: AbortSignal): Promise<FollowOutcome> {
  const status = await deps.status.getStatus(follow.jobId);
  const over = status === null || status.state === 'succeeded' || status.state === 'failed' || status.state === 'cancelled';
  if (!over) {
    if (Date.now() - Date.parse(follow.since) > deps.maxFollowMs) {
      deps.logger.warn({ jobId: follow.jobId }, 'gave up following a triggered job that has not ended');
      return { done: true };
    }
    return { done: false, recheckInMs: deps.recheckMs };
  }
  const body = finishedComment(follow.jobId, follow.requester, status, deps.links(follow.jobId));
  await deps.tracker.updateComment(follow.repo, follow.statusCommentId, body, signal);
  deps.logger.info({ jobId: follow.jobId, state: status?.state ?? 'expired', statusCommentId: follow.statusCommentId }, 'status comment of a triggered job updated');
  return { done: true };
}
