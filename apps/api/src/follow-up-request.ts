import { RepoUrlError, parsePullRequestUrl, parseRepoUrl, type CodeJobRequest, type FollowUpTarget, type JobStatus, type RepoRef } from '@tinyb/contracts';
import { AppError } from '@tinyb/core';
import type { PullRequestPreflight } from './github-pull-request-preflight.js';

/** A follow-up request after the API has made sense of it: the repository and the pull request to continue. */
export interface ResolvedFollowUp {
  repo: RepoRef;
  target: FollowUpTarget;
}

export interface FollowUpRequestDeps {
  githubUrl: string;
  /** The parent job's status if the caller may see it (its tenant's, or any for an admin); null otherwise. */
  visibleStatus(jobId: string): Promise<JobStatus | null>;
  /** Reads the pull request on GitHub when the API has read access; absent: the worker is the only judge. */
  preflight?: PullRequestPreflight;
  signal: AbortSignal;
}

/**
 * `pr_url` and/or `parent_job_id` (and `repo_url` beside them) become one pull request to continue, or undefined
 * for an ordinary job. Names that disagree are a 400; a parent the caller cannot see is a 404, like any job of
 * another tenant; a parent without a pull request is a 409. With read access to GitHub the pull request is
 * judged here too (409 closed, 422 fork) and its head pinned, so a later push makes the job fail, not build on it.
 */
export async function resolveFollowUp(body: CodeJobRequest, deps: FollowUpRequestDeps): Promise<ResolvedFollowUp | undefined> {
  if (body.pr_url === undefined && body.parent_job_id === undefined) return undefined;
  let prUrl = body.pr_url;
  if (body.parent_job_id !== undefined) {
    const parent = await deps.visibleStatus(body.parent_job_id);
    if (parent === null) throw new AppError('not_found', `no job with id ${body.parent_job_id}`);
    const parentPr = parent.result?.pr?.url;
    if (parentPr === undefined) {
      throw new AppError('conflict', `job ${body.parent_job_id} has no pull request to continue (it is ${parent.state}${parent.result ? `, ${parent.result.outcome}` : ''})`);
    }
    if (prUrl !== undefined && canonicalPr(prUrl, deps.githubUrl).url !== parentPr) {
      throw new AppError('invalid_request', `pr_url and parent_job_id name different pull requests (job ${body.parent_job_id} continues ${parentPr})`);
    }
    prUrl = parentPr;
  }
  const pr = canonicalPr(prUrl!, deps.githubUrl);
  if (body.repo_url !== undefined) {
    let repo: RepoRef;
    try {
      repo = parseRepoUrl(body.repo_url, deps.githubUrl);
    } catch (err) {
      if (err instanceof RepoUrlError) throw new AppError('invalid_repo_url', err.message);
      throw err;
    }
    if (repo.url.toLowerCase() !== pr.repo.url.toLowerCase()) {
      throw new AppError('invalid_request', `repo_url (${repo.url}) is not the repository of the pull request (${pr.repo.url})`);
    }
  }
  const pinned = deps.preflight ? await deps.preflight.check(pr.repo, pr.number, deps.signal) : undefined;
  return {
    repo: pr.repo,
    target: {
      number: pr.number,
      url: pr.url,
      ...(pinned === undefined ? {} : { headSha: pinned.headSha }),
      ...(body.parent_job_id === undefined ? {} : { parentJobId: body.parent_job_id }),
    },
  };
}

function canonicalPr(input: string, githubUrl: string) {
  try {
    return parsePullRequestUrl(input, githubUrl);
  } catch (err) {
    if (err instanceof RepoUrlError) throw new AppError('invalid_repo_url', err.message);
    throw err;
  }
}
