export interface RepoRef {
  owner: string;
  name: string;
  /** Canonical https URL of the repository on the configured GitHub, without `.git`. */
  url: string;
}

export class RepoUrlError extends Error {
  override readonly name = 'RepoUrlError';
}

// GitHub's rules: owner is alphanumeric or single hyphens (max 39); repo names use [A-Za-z0-9._-] (max 100).
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * Accepts only `<GITHUB_URL>/<owner>/<repo>[.git][/]`: same scheme, host and port as the configured GitHub,
 * no credentials, query or fragment, and nothing below the repository (no tree/blob paths).
 * Everything else (other hosts, local addresses, file: URLs, paths) is refused, so a job can never be
 * pointed at something the operator did not configure.
 */
export function parseRepoUrl(input: string, githubUrl: string): RepoRef {
  const base = new URL(githubUrl);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new RepoUrlError(`repo_url must be an absolute URL like ${base.origin}/owner/repo`);
  }
  if (url.protocol !== base.protocol || url.host !== base.host) {
    throw new RepoUrlError(`repo_url must be on ${base.origin}`);
  }
  if (url.username || url.password) throw new RepoUrlError('repo_url must not contain credentials');
  if (url.search || url.hash) throw new RepoUrlError('repo_url must not have a query or fragment');
  const basePath = base.pathname.replace(/\/+$/, '');
  if (!url.pathname.startsWith(`${basePath}/`)) throw new RepoUrlError(`repo_url must be on ${base.origin}${basePath}`);
  const parts = url.pathname.slice(basePath.length + 1).replace(/\/$/, '').split('/');
  if (parts.length !== 2) throw new RepoUrlError('repo_url must point at a repository: <owner>/<repo>');
  const owner = parts[0]!;
  const name = parts[1]!.replace(/\.git$/, '');
  if (!OWNER.test(owner) || !REPO.test(name) || name === '.' || name === '..') {
    throw new RepoUrlError('repo_url has an invalid owner or repository name');
  }
  return { owner, name, url: `${base.origin}${basePath}/${owner}/${name}` };
}
