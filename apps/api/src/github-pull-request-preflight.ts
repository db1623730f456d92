import type { RepoRef } from '@tinyb/contracts';
import { AppError, checkFollowUpTarget, type Logger, type PullRequestInfo } from '@tinyb/core';
import { z } from 'zod';

/** Judges a pull request at submit time; returns the head to pin, or undefined when GitHub could not be asked. */
export interface PullRequestPreflight {
  check(repo: RepoRef, number: number, signal: AbortSignal): Promise<{ headSha: string } | undefined>;
}

// Only what the check needs, parsed at the edge.
const GitHubPull = z.object({
  number: z.number(),
  html_url: z.string(),
  title: z.string(),
  body: z.string().nullable().optional(),
  state: z.string(),
  merged: z.boolean().optional(),
  merged_at: z.string().nullable().optional(),
  head: z.object({ ref: z.string(), sha: z.string(), repo: z.object({ full_name: z.string() }).nullable() }),
  base: z.object({ ref: z.string() }),
});

const TIMEOUT_MS = 5_000;

/**
 * The API's optional read access to GitHub (GITHUB_TOKEN set on the API): one `GET /repos/:o/:r/pulls/:n` per
 * follow-up, with plain fetch (the API carries no Octokit). Definite answers refuse the request (404, closed,
 * fork); an outage or a refused token lets it through unpinned, because the worker checks again anyway.
 */
export class GitHubPullRequestPreflight implements PullRequestPreflight {
  private readonly apiUrl: string;
  private readonly token: string;
  private readonly logger: Logger;
  private readonly fetch: typeof fetch;

  constructor(opts: { apiUrl: string; token: string; logger: Logger; fetch?: typeof fetch }) {
    this.apiUrl = opts.apiUrl.replace(/\/+$/, '');
    this.token = opts.token;
    this.logger = opts.logger.child({ component: 'pull-request-preflight' });
    this.fetch = opts.fetch ?? fetch;
  }

  async check(repo: RepoRef, number: number, signal: AbortSignal): Promise<{ headSha: string } | undefined> {
    let res: Response;
    try {
      res = await this.fetch(`${this.apiUrl}/repos/${encodeURIComponent(repo.owner)}/${encodeURIComponent(repo.name)}/pulls/${number}`, {
        headers: { authorization: `token ${this.token}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
        signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)]),
      });
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), owner: repo.owner, repo: repo.name, number }, 'pull request pre-flight failed; the worker will check');
      return undefined;
    }
    if (res.status === 404) throw new AppError('not_found', `pull request #${number} does not exist in ${repo.owner}/${repo.name} (or the service cannot see it)`);
    if (!res.ok) {
      this.logger.warn({ status: res.status, owner: repo.owner, repo: repo.name, number }, 'pull request pre-flight got no answer; the worker will check');
      return undefined;
    }
    const data = GitHubPull.parse(await res.json());
    const pr: PullRequestInfo = {
      number: data.number,
      url: data.html_url,
      title: data.title,
      body: data.body ?? '',
      state: data.state === 'open' ? 'open' : 'closed',
      merged: data.merged === true || (data.merged_at ?? null) !== null,
      head: { ref: data.head.ref, sha: data.head.sha, repoFullName: data.head.repo?.full_name ?? null },
      base: { ref: data.base.ref },
    };
    checkFollowUpTarget(pr, `${repo.owner}/${repo.name}`, {});
    return { headSha: pr.head.sha };
  }
}
