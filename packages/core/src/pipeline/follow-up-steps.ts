import type { FileChange, FollowUpTarget, JobResult, Usage } from '@tinyb/contracts';
import { AppError } from '../errors.js';
import type { GitHost, PullRequestComment, PullRequestCommit, PullRequestInfo, RepoCoordinates } from '../ports/git-host.js';
import type { StepContext } from '../ports/step-context.js';
import type { Redactor } from '../redactor.js';
import { checkFollowUpTarget, describeFollowUpComment, findJobCommit, hasJobComment, jobEventsUrl } from './follow-up.js';

/** What the clone step learns about the pull request a follow-up continues. */
export interface FollowUpCheckout {
  pr: PullRequestInfo;
  comments: PullRequestComment[];
  /** The head the job builds on and must find the branch at when it commits. */
  pinnedSha: string;
  /** The commit an earlier attempt of this job already added: the job then only finishes what that attempt began. */
  landed?: PullRequestCommit;
}

/**
 * Judges the pull request before anything is cloned: open, not from a fork, at the pinned head, unless this job's
 * own earlier attempt is what moved it (found by the job's commit trailer among the PR's commits).
 */
export async function inspectFollowUp(
  repo: RepoCoordinates,
  jobId: string,
  target: FollowUpTarget,
  gitHost: GitHost,
  ctx: StepContext,
): Promise<FollowUpCheckout> {
  const pr = await gitHost.getPullRequest(repo, target.number, ctx.signal);
  const landed = findJobCommit(await gitHost.listPullRequestCommits(repo, target.number, ctx.signal), jobId);
  const comments = await gitHost.listPullRequestComments(repo, target.number, ctx.signal);
  if (landed !== undefined) {
    // The job's work is on the branch already; a closed PR or a later push changes nothing about that.
    ctx.logger.info({ sha: landed.sha, pr: pr.number }, 'an earlier attempt already committed to the pull request');
    return { pr, comments, pinnedSha: landed.sha, landed };
  }
  checkFollowUpTarget(pr, `${repo.owner}/${repo.name}`, target);
  return { pr, comments, pinnedSha: target.headSha ?? pr.head.sha };
}

/**
 * Moves the PR's branch to the job's commit, fast-forward only from the pinned head. If the branch moved, it may
 * have been another attempt of this same job (a takeover racing the attempt it replaced): then its commit is
 * the job's, and this attempt's is dropped rather than stacked on top.
 */
export async function advanceFollowUpBranch(
  repo: RepoCoordinates,
  jobId: string,
  followUp: FollowUpCheckout,
  sha: string,
  gitHost: GitHost,
  ctx: StepContext,
): Promise<{ sha: string; byThisAttempt: boolean }> {
  try {
    await gitHost.advanceBranch(repo, followUp.pr.head.ref, { from: followUp.pinnedSha, to: sha }, ctx.signal);
    return { sha, byThisAttempt: true };
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'pr_branch_moved') throw err;
    const landed = findJobCommit(await gitHost.listPullRequestCommits(repo, followUp.pr.number, ctx.signal), jobId);
    if (landed === undefined) throw err;
    ctx.logger.warn({ sha: landed.sha }, 'another attempt of this job committed first; keeping its commit');
    return { sha: landed.sha, byThisAttempt: false };
  }
}

/**
 * The follow-up's last step: one summary comment on the pull request (not a second one when a retry gets here
 * again), `pr.created` with `reused` and `followUp`, and the job's result.
 */
export async function finishFollowUp(
  job: { id: string; data: { agent: string; requestedBy?: string } },
  repo: RepoCoordinates,
  followUp: FollowUpCheckout,
  outcome: { sha: string; summary: string; files: FileChange[]; usage: Usage },
  deps: { gitHost: GitHost; redactor: Redactor; publicUrl?: string },
  ctx: StepContext,
): Promise<JobResult> {
  const { pr } = followUp;
  const comments = await deps.gitHost.listPullRequestComments(repo, pr.number, ctx.signal);
  if (!hasJobComment(comments, job.id)) {
    const body = describeFollowUpComment(job, { ...outcome, eventsUrl: jobEventsUrl(job.id, deps.publicUrl) });
    const posted = await deps.gitHost.commentOnPullRequest(repo, pr.number, deps.redactor.redact(body), ctx.signal);
    ctx.logger.info({ pr: pr.number, comment: posted.url }, 'follow-up summary posted');
  }
  const ref = { url: pr.url, number: pr.number, branch: pr.head.ref };
  await ctx.emit({ type: 'pr.created', ...ref, reused: true, followUp: true });
  return { outcome: 'pr_updated', pr: ref, filesChanged: outcome.files, summary: outcome.summary, usage: outcome.usage };
}

/** The summary an earlier attempt wrote into its commit message (between the title and the trailer). */
export function summaryOfLandedCommit(message: string, jobId: string): string {
  const lines = message.split('\n');
  const body = lines.slice(2).filter((line) => !line.startsWith(`Tiny-Backspace-Job: ${jobId}`));
  return body.join('\n').trim();
}
