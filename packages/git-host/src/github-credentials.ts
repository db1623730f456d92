import type { Octokit } from '@octokit/rest';
import type { RepoCoordinates } from '@tinyb/core';

/** What one repository's calls run with: the Octokit for REST, and the same credential for the host-side clone. */
export interface RepoCredentials {
  /** Never logged, never written to disk, never put in an error; held in memory only while it is valid. */
  readonly token: string;
  readonly octokit: Octokit;
}

/**
 * Where GitHubHost gets its credential for a repository: one personal token for everything
 * (PersonalTokenCredentials), or an installation token per repository minted by a GitHub App
 * (GitHubAppCredentials). Failures are AppErrors with secrets already removed.
 */
export interface GitHubCredentials {
  forRepo(repo: RepoCoordinates, signal: AbortSignal): Promise<RepoCredentials>;
  /**
   * Called after GitHub refused `token` as bad credentials (revoked, expired early). Returns whether a
   * different credential may now be had, i.e. whether one more try is worth it.
   */
  invalidate(repo: RepoCoordinates, token: string): boolean;
}
