import type { Octokit } from '@octokit/rest';
import type { RepoCoordinates } from '@tinyb/core';
import { createGitHubOctokit, type GitHubOctokitSettings } from './create-github-octokit.js';
import type { GitHubCredentials, RepoCredentials } from './github-credentials.js';

export type PersonalTokenCredentialsOptions =
  /** Builds its Octokit with `createGitHubOctokit` (retry + throttling). */
  | ({ token: string } & GitHubOctokitSettings)
  /** An Octokit already built with this token. */
  | { token: string; octokit: Octokit };

/** One token (a personal access token, fine-grained or classic) for every repository. */
export class PersonalTokenCredentials implements GitHubCredentials {
  private readonly credentials: RepoCredentials;

  constructor(opts: PersonalTokenCredentialsOptions) {
    const octokit = 'octokit' in opts ? opts.octokit : createGitHubOctokit(opts);
    this.credentials = { token: opts.token, octokit };
  }

  async forRepo(_repo: RepoCoordinates, _signal: AbortSignal): Promise<RepoCredentials> {
    return this.credentials;
  }

  /** A refused personal token stays refused: there is nothing else to try. */
  invalidate(_repo: RepoCoordinates, _token: string): boolean {
    return false;
  }
}
