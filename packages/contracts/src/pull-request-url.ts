import { MAX_REPO_URL_CHARS, RepoUrlError, parseRepoUrl, type RepoRef } from './repo-url.js';

export interface PullRequestUrlRef {
  repo: RepoRef;
  number: number;
  /** Canonical URL of the pull request: `${repo.url}/pull/${number}`. */
  url: string;
}

/** A RepoUrlError too, so callers that already map those to `invalid_repo_url` need nothing new. */
export class PullRequestUrlError extends RepoUrlError {}

// A pull request number as GitHub writes it: decimal, no leading zero, within a safe integer.
const PULL_SUFFIX = /^(?<repo>.*)\/pull\/(?<number>[1-9][0-9]{0,14})\/?$/;

/**
 * Accepts only `<GITHUB_URL>/<owner>/<repo>/pull/<n>[/]`, as strictly as `parseRepoUrl` takes a repository:
 * the repository part must be its canonical spelling (no `.git`, no trailing slash, no query or fragment
 * anywhere, nothing after the number such as `/files`).
 */
export function parsePullRequestUrl(input: string, githubUrl: string): PullRequestUrlRef {
  if (input.length > MAX_REPO_URL_CHARS) throw new PullRequestUrlError(`pr_url must be at most ${MAX_REPO_URL_CHARS} characters`);
  const match = PULL_SUFFIX.exec(input);
  const repoPart = match?.groups?.['repo'];
  const numberPart = match?.groups?.['number'];
  if (repoPart === undefined || numberPart === undefined) {
    throw new PullRequestUrlError(`pr_url must be written as ${new URL(githubUrl).origin}/<owner>/<repo>/pull/<number>`);
  }
  let repo: RepoRef;
  try {
    repo = parseRepoUrl(repoPart, githubUrl);
  } catch (err) {
    if (err instanceof RepoUrlError) throw new PullRequestUrlError(err.message.replace(/^repo_url\b/, 'pr_url'));
    throw err;
  }
  // parseRepoUrl also takes `.git` and a trailing slash; inside a pull request URL neither is GitHub's spelling.
  if (repoPart.endsWith('/') || repoPart.endsWith('.git')) {
    throw new PullRequestUrlError('pr_url must name the repository as <owner>/<repo>, without .git or an extra slash');
  }
  const number = Number(numberPart);
  if (!Number.isSafeInteger(number)) throw new PullRequestUrlError('pr_url has an invalid pull request number');
  return { repo, number, url: `${repo.url}/pull/${number}` };
}
