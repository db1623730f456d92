export interface RepoRef {
  owner: string;
  name: string;
  /** Canonical https URL of the repository on the configured GitHub, without `.git`. */
  url: string;
}

export class RepoUrlError extends Error {
  override readonly name = 'RepoUrlError';
}

/** Longer than any canonical repository URL could be; refused before any parsing. */
export const MAX_REPO_URL_CHARS = 2048;

// GitHub's rules: an owner is alphanumerics and single hyphens, neither first nor last (max 39); a repository
// name uses [A-Za-z0-9._-] (max 100). A leading `-` is refused too, so a name can never read as an option.
const OWNER = /^[A-Za-z0-9](?:-?[A-Za-z0-9])*$/;
const OWNER_MAX_CHARS = 39;
const REPO = /^[A-Za-z0-9._][A-Za-z0-9._-]{0,99}$/;
// Visible ASCII without `\`: the URL parser silently drops tabs and newlines, trims spaces, maps fullwidth
// and other Unicode look-alikes onto ASCII hosts and reads `\` as `/`, so what it returns would not be what
// was written.
const PLAIN = /^[\x21-\x5b\x5d-\x7e]+$/;
// `scheme://authority path ?query #fragment`, as written (PLAIN holds, so no whitespace to worry about).
const WRITTEN = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/;
const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443' };

/**
 * Accepts only `<GITHUB_URL>/<owner>/<repo>[.git][/]`, written in its canonical form: same scheme, host and
 * port as the configured GitHub, no credentials, query or fragment, nothing below the repository (no
 * tree/blob paths), no `.`/`..` segments and no percent-encoding. Scheme and host are case-insensitive and an
 * explicit default port (`:443` for https) is the same origin; every other spelling the URL parser would
 * normalise (`0x7f.1`, `:0443`, `https:/host`, `git%68ub.com`, fullwidth letters) is refused.
 * Everything else (other hosts, local addresses, file: URLs, paths) is refused, so a job can never be
 * pointed at something the operator did not configure.
 */
export function parseRepoUrl(input: string, githubUrl: string): RepoRef {
  const base = new URL(githubUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const canonicalShape = `${base.origin}${basePath}/<owner>/<repo>`;
  if (input.length > MAX_REPO_URL_CHARS) throw new RepoUrlError(`repo_url must be at most ${MAX_REPO_URL_CHARS} characters`);
  if (input !== '' && !PLAIN.test(input)) {
    throw new RepoUrlError('repo_url may only contain visible ASCII characters (no spaces, control characters, backslashes or Unicode)');
  }
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new RepoUrlError(`repo_url must be an absolute URL like ${base.origin}/owner/repo`);
  }
  if (url.protocol !== base.protocol || url.host !== base.host) {
    throw new RepoUrlError(`repo_url must be on ${base.origin}`);
  }
  const written = WRITTEN.exec(input);
  if (!written) throw new RepoUrlError(`repo_url must be written as ${canonicalShape}`);
  const [, schemeAndSlashes = '', authority = '', path = '', query, fragment] = written;
  // The URL parser reports an empty userinfo (`https://@host`) as no credentials; the written `@` is the tell.
  if (url.username || url.password || authority.includes('@')) throw new RepoUrlError('repo_url must not contain credentials');
  // Likewise a bare `?` or `#` leaves `search` and `hash` empty.
  if (query !== undefined || fragment !== undefined) throw new RepoUrlError('repo_url must not have a query or fragment');
  if (!url.pathname.startsWith(`${basePath}/`)) throw new RepoUrlError(`repo_url must be on ${base.origin}${basePath}`);
  const parts = url.pathname.slice(basePath.length + 1).replace(/\/$/, '').split('/');
  if (parts.length !== 2) throw new RepoUrlError('repo_url must point at a repository: <owner>/<repo>');
  const owner = parts[0]!;
  const name = parts[1]!.replace(/\.git$/, '');
  if (owner.length > OWNER_MAX_CHARS || !OWNER.test(owner) || !REPO.test(name) || name === '.' || name === '..') {
    throw new RepoUrlError('repo_url has an invalid owner or repository name');
  }
  // What was written must be what the parser understood: this refuses dot segments, percent-encoding and
  // alternate spellings of the origin, all of which the parser resolves silently.
  const origins = [base.origin];
  if (base.port === '' && DEFAULT_PORTS[base.protocol]) origins.push(`${base.origin}:${DEFAULT_PORTS[base.protocol]}`);
  const canonicalPath = `${basePath}/${owner}/${name}`;
  const paths = [canonicalPath, `${canonicalPath}/`, `${canonicalPath}.git`, `${canonicalPath}.git/`];
  if (!origins.includes(`${schemeAndSlashes}${authority}`.toLowerCase()) || !paths.includes(path)) {
    throw new RepoUrlError(`repo_url must be written as ${canonicalShape}`);
  }
  return { owner, name, url: `${base.origin}${canonicalPath}` };
}
