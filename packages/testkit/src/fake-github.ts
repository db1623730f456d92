import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  FakeGitHubApp,
  looksLikeJwt,
  type FakeAccessTokenRequest,
  type FakeGitHubAppOptions,
  type FakeInstallationToken,
} from './fake-github-app.js';
import { gitLine, objectHasType, runGit, serveGitHttpBackend } from './fake-github-git.js';

export type { FakeAccessTokenRequest, FakeGitHubAppOptions, FakeInstallationToken } from './fake-github-app.js';

/**
 * A stateful stand-in for GitHub, for tests that run the real Octokit and the real git CLI: real bare
 * repositories on disk served over smart HTTP (clone/fetch only) by the system `git http-backend`, and the
 * REST routes of the Git Data and Pulls APIs that the project uses, built on git plumbing so a test can
 * clone what was "pushed" through the API and check it byte for byte. Pull requests live in memory.
 * With `app`, it also plays a GitHub App's side: app JWTs, installations, and installation tokens scoped to
 * repositories and permissions, which expire.
 * Pull requests also carry issue comments and review comments (seeded by tests or created through the API), may
 * be closed or marked merged, and may be marked as coming from a fork (their head then lives in another repository).
 * Issues can be opened, and carry comments (created, listed and edited through the API) and reactions like pull
 * requests do; each user's permission on a repository answers the collaborator permission route.
 * Not covered: real forks, pushes over HTTP, webhooks, pagination, real merges, anything GraphQL.
 */

export interface FakeGitHubOptions {
  /** The personal token the fake accepts everywhere, for the REST API and for git over HTTP. */
  token: string;
  /**
   * A GitHub App the fake knows: `GET /repos/:o/:r/installation` and `POST /app/installations/:id/access_tokens`
   * then answer requests signed with its key, and the tokens they mint work on their repositories only.
   */
  app?: FakeGitHubAppOptions;
}

/** Which kind of credential a request carried, as the fake judged it. */
export type FakeCredentialKind = 'none' | 'token' | 'installation' | 'jwt' | 'invalid';

export type FakeFileMode = '100644' | '100755' | '120000';
export type FakeRepoFile = string | { content: string | Uint8Array; mode?: FakeFileMode };

export interface CreateFakeRepoOptions {
  files: Record<string, FakeRepoFile>;
  /** `main` unless given. */
  defaultBranch?: string;
  /** Private repositories need the token for git fetches too; public ones may be cloned anonymously. */
  private?: boolean;
}

export interface FakePullRequest {
  number: number;
  title: string;
  body: string;
  draft: boolean;
  state: 'open' | 'closed';
  /** Closed by a merge (see mergePull). */
  merged: boolean;
  /** Where the head branch lives: this repository unless marked as a fork's (see setPullHeadRepo). */
  head: { ref: string; sha: string; repo?: { owner: string; name: string } };
  base: { ref: string; sha: string };
  htmlUrl: string;
}

/** A comment on a pull request's conversation (GitHub's issue comments). */
export interface FakeIssueComment {
  id: number;
  body: string;
  user: string;
  createdAt: string;
  /** Set when the comment was edited through the API. */
  updatedAt?: string;
}

/** An issue (numbered together with the repository's pull requests, as on GitHub). */
export interface FakeIssue {
  number: number;
  title: string;
  body: string;
  user: string;
  htmlUrl: string;
}

/** A reaction (👀 is `eyes`) on an issue or pull request, or on one of their comments. */
export interface FakeReaction {
  target: { kind: 'issue'; number: number } | { kind: 'comment'; id: number };
  content: string;
  user: string;
}

/** A user's role on a repository, as GitHub's collaborator permission route reports it (`role_name`). */
export type FakeRepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** A comment on a line of a pull request's diff (GitHub's review comments). */
export interface FakeReviewComment {
  id: number;
  body: string;
  user: string;
  path: string;
  line: number;
  createdAt: string;
}

export interface FakeRequestLogEntry {
  /** `api` for REST calls, `git` for smart-HTTP traffic. */
  kind: 'api' | 'git';
  method: string;
  /** URL-decoded path without the query; for `api`, relative to `apiUrl` (e.g. `/repos/o/r/pulls`). */
  path: string;
  /** Whether the request carried an Authorization header at all (right or wrong). */
  hasAuth: boolean;
  /**
   * `token` is the personal token, `installation` a token minted for the app (expired or not), `jwt` a
   * correctly signed app JWT; anything else sent is `invalid`.
   */
  credential: FakeCredentialKind;
  status: number;
}

export interface FakeGitHub {
  /** Base for clone URLs (`${url}/<owner>/<name>.git`): the app's GITHUB_URL. */
  readonly url: string;
  /** The REST base, `${url}/api/v3`: the app's GITHUB_API_URL. */
  readonly apiUrl: string;
  readonly token: string;
  createRepo(owner: string, name: string, opts: CreateFakeRepoOptions): Promise<void>;
  /** Path of the bare repository on disk, for `git clone`/`git --git-dir` in assertions. */
  repoDir(owner: string, name: string): string;
  /** Snapshot of the pull requests created in a repository, oldest first. */
  pulls(owner: string, name: string): FakePullRequest[];
  /** Marks a pull request closed, as if someone closed it on GitHub. */
  closePull(owner: string, name: string, pullNumber: number): void;
  /** Marks a pull request merged (and closed), without touching any branch. */
  mergePull(owner: string, name: string, pullNumber: number): void;
  /** Makes a pull request's head live in another repository, as for a PR opened from a fork. */
  setPullHeadRepo(owner: string, name: string, pullNumber: number, head: { owner: string; name: string }): void;
  /** Adds a comment to a pull request's (or an issue's) conversation, as `user` (default `octocat`). */
  addIssueComment(owner: string, name: string, pullNumber: number, comment: { body: string; user?: string }): FakeIssueComment;
  /** Adds a review comment on `path`:`line` of a pull request, as `user` (default `octocat`). */
  addReviewComment(owner: string, name: string, pullNumber: number, comment: { body: string; path: string; line: number; user?: string }): FakeReviewComment;
  /** Snapshot of a pull request's conversation comments, oldest first (those created through the API too). */
  issueComments(owner: string, name: string, pullNumber: number): FakeIssueComment[];
  /** Opens an issue as `user` (default `octocat`); returns its number. Comments on it use the issue comment methods above. */
  createIssue(owner: string, name: string, issue: { title: string; body?: string; user?: string }): number;
  /** Snapshot of the repository's issues, oldest first. */
  issues(owner: string, name: string): FakeIssue[];
  /** Snapshot of the reactions made in the repository, oldest first. */
  reactions(owner: string, name: string): FakeReaction[];
  /**
   * Sets `login`'s role on the repository (GET /collaborators/:login/permission). Unset users are `none`; the
   * owner and whoever the personal token or an app's bot act as are `admin` unless set.
   */
  setRole(owner: string, name: string, login: string, role: FakeRepoRole): void;
  /** Every request served so far (live array), in arrival order of their completion. */
  readonly requests: readonly FakeRequestLogEntry[];
  /**
   * Makes the next `times` (1 unless given) requests with `method` (`*`: any method) whose path matches answer
   * `status` with a JSON error instead. A string pattern must equal the logged path (see FakeRequestLogEntry.path);
   * a RegExp is tested against it. `response` replaces the default `{message: 'Injected failure'}` body
   * and adds headers (e.g. `retry-after` for rate limits).
   */
  failNext(method: string, pathPattern: string | RegExp, status: number, times?: number, response?: FakeResponseOverride): void;
  /** Drops every failure `failNext` armed that no request has met yet. */
  clearFaults(): void;
  /**
   * Installs the app (see FakeGitHubOptions.app) on `owner`'s account: for all its repositories, or for
   * `repo` added to the installation's selection. Returns the installation id. Repositories it does not cover
   * answer the installation lookup with 404.
   */
  installApp(owner: string, repo?: string): number;
  /** Every access-token request that passed JWT verification (live array), with what was asked for. */
  readonly accessTokenRequests: readonly FakeAccessTokenRequest[];
  /** Snapshot of the installation tokens minted so far, oldest first. */
  installationTokens(): FakeInstallationToken[];
  /** Makes every installation token minted so far expire now (the fake answers them with 401 from then on). */
  expireInstallationTokens(): void;
  close(): Promise<void>;
}

export interface FakeResponseOverride {
  body?: unknown;
  headers?: Record<string, string>;
}

interface RepoState {
  owner: string;
  name: string;
  dir: string;
  private: boolean;
  defaultBranch: string;
  pulls: FakePullRequest[];
  /** By issue or pull request number. */
  issueComments: Map<number, FakeIssueComment[]>;
  issues: FakeIssue[];
  reactions: FakeReaction[];
  roles: Map<string, FakeRepoRole>;
  reviewComments: Map<number, FakeReviewComment[]>;
}

interface Fault {
  method: string;
  pattern: string | RegExp;
  status: number;
  remaining: number;
  response: FakeResponseOverride;
}

/** What the fake made of a request's Authorization header. */
type Credential =
  | { kind: 'none' }
  | { kind: 'token'; user: string }
  | { kind: 'installation'; token: FakeInstallationToken; user: string }
  | { kind: 'jwt' }
  | { kind: 'invalid'; message: string };

interface ApiContext {
  repo: RepoState;
  credential: Credential;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
}

interface ApiResponse {
  status: number;
  body?: unknown;
}

interface Route {
  method: string;
  /** Matched against the decoded path after `/repos/:owner/:repo`. */
  pattern: RegExp;
  /** The app permission an installation token needs (read for GET, write otherwise), as GitHub documents per route. */
  permission: 'metadata' | 'contents' | 'pull_requests';
  handle(ctx: ApiContext): Promise<ApiResponse>;
}

const ZERO_SHA = '0000000000000000000000000000000000000000';
const DOCS_URL = 'https://docs.github.com/rest';

export async function startFakeGitHub(opts: FakeGitHubOptions): Promise<FakeGitHub> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'tinyb-fake-github-'));
  const projectRoot = path.join(root, 'repos');
  const scratch = path.join(root, 'scratch');
  await mkdir(projectRoot);
  await mkdir(scratch);

  const repos = new Map<string, RepoState>();
  let nextCommentId = 1;
  const app = opts.app === undefined ? undefined : new FakeGitHubApp(opts.app);
  const faults: Fault[] = [];
  const requests: FakeRequestLogEntry[] = [];
  let url = '';
  let apiUrl = '';

  const repoKey = (owner: string, name: string): string => `${owner.toLowerCase()}/${name.toLowerCase()}`;
  const findRepo = (owner: string, name: string): RepoState | undefined => repos.get(repoKey(owner, name));
  const mustRepo = (owner: string, name: string): RepoState => {
    const repo = findRepo(owner, name);
    if (repo === undefined) throw new Error(`fake GitHub has no repository ${owner}/${name}`);
    return repo;
  };

  const mustPull = (owner: string, name: string, pullNumber: number): FakePullRequest => {
    const pr = mustRepo(owner, name).pulls.find((p) => p.number === pullNumber);
    if (pr === undefined) throw new Error(`fake repository ${owner}/${name} has no pull request ${pullNumber}`);
    return pr;
  };

  /** Issues and pull requests share one sequence of numbers per repository, as on GitHub. */
  const nextIssueNumber = (repo: RepoState): number => Math.max(0, ...repo.pulls.map((p) => p.number), ...repo.issues.map((i) => i.number)) + 1;
  const isIssueOrPull = (repo: RepoState, number: number): boolean => repo.pulls.some((p) => p.number === number) || repo.issues.some((i) => i.number === number);
  const findIssueComment = (repo: RepoState, id: number): { number: number; comment: FakeIssueComment } | undefined => {
    for (const [number, comments] of repo.issueComments) {
      const comment = comments.find((c) => c.id === id);
      if (comment !== undefined) return { number, comment };
    }
    return undefined;
  };

  /** Who a request acts as on GitHub: an app's bot for an installation token, else the personal token's user (the fake: the owner). */
  const actingUser = (repo: RepoState, credential: Credential): string =>
    credential.kind === 'installation' && app !== undefined ? app.botIdentity.name : repo.owner;

  const addIssueComment = (repo: RepoState, pullNumber: number, body: string, user: string): FakeIssueComment => {
    const created: FakeIssueComment = { id: nextCommentId++, body, user, createdAt: new Date().toISOString() };
    repo.issueComments.set(pullNumber, [...(repo.issueComments.get(pullNumber) ?? []), created]);
    return { ...created };
  };

  const issueCommentJson = (repo: RepoState, pullNumber: number, c: FakeIssueComment): Record<string, unknown> => ({
    id: c.id,
    body: c.body,
    user: { login: c.user, type: 'User' },
    created_at: c.createdAt,
    updated_at: c.updatedAt ?? c.createdAt,
    html_url: `${url}/${repo.owner}/${repo.name}/${repo.issues.some((i) => i.number === pullNumber) ? 'issues' : 'pull'}/${pullNumber}#issuecomment-${c.id}`,
    url: `${apiUrl}/repos/${repo.owner}/${repo.name}/issues/comments/${c.id}`,
  });

  // --- helpers over git ---------------------------------------------------------------------------

  const refSha = async (repo: RepoState, ref: string): Promise<string | undefined> => {
    try {
      const line = await gitLine(repo.dir, ['show-ref', '--verify', '--', ref]);
      return line.split(' ')[0];
    } catch {
      return undefined;
    }
  };

  /** Builds a tree with a throwaway index, so concurrent requests never share one. */
  const writeTree = async (
    repo: RepoState,
    baseTree: string | undefined,
    entries: { path: string; mode: string; sha: string | null }[],
  ): Promise<string> => {
    const env = { GIT_INDEX_FILE: path.join(scratch, `index-${randomUUID()}`) };
    try {
      await runGit(repo.dir, baseTree === undefined ? ['read-tree', '--empty'] : ['read-tree', baseTree], { env });
      // -z --index-info takes "mode SP sha TAB path NUL"; mode 0 removes the path.
      const info = entries.map((e) => (e.sha === null ? `0 ${ZERO_SHA}\t${e.path}\0` : `${e.mode} ${e.sha}\t${e.path}\0`)).join('');
      await runGit(repo.dir, ['update-index', '-z', '--index-info'], { env, input: info });
      return await gitLine(repo.dir, ['write-tree'], { env });
    } finally {
      await rm(env.GIT_INDEX_FILE, { force: true });
    }
  };

  const commitJson = async (repo: RepoState, sha: string): Promise<Record<string, unknown>> => {
    const format = ['%T', '%P', '%an', '%ae', '%aI', '%cn', '%ce', '%cI', '%B'].join('%x00');
    const out = await gitLine(repo.dir, ['show', '-s', `--format=${format}`, sha]);
    const [tree = '', parents = '', an, ae, ad, cn, ce, cd, message = ''] = out.split('\0');
    return {
      sha,
      node_id: `C_${sha}`,
      url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/commits/${sha}`,
      html_url: `${url}/${repo.owner}/${repo.name}/commit/${sha}`,
      tree: { sha: tree, url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/trees/${tree}` },
      parents: parents
        .split(' ')
        .filter((p) => p !== '')
        .map((p) => ({ sha: p, url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/commits/${p}` })),
      author: { name: an, email: ae, date: ad },
      committer: { name: cn, email: ce, date: cd },
      message: message.replace(/\n$/, ''),
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
    };
  };

  const refJson = (repo: RepoState, ref: string, sha: string): Record<string, unknown> => ({
    ref,
    node_id: `REF_${Buffer.from(ref).toString('base64')}`,
    url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/${ref}`,
    object: { sha, type: 'commit', url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/commits/${sha}` },
  });

  const repoJson = (repo: RepoState): Record<string, unknown> => ({
    id: Math.abs(hashCode(repoKey(repo.owner, repo.name))),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: { login: repo.owner, type: 'User' },
    private: repo.private,
    visibility: repo.private ? 'private' : 'public',
    default_branch: repo.defaultBranch,
    html_url: `${url}/${repo.owner}/${repo.name}`,
    clone_url: `${url}/${repo.owner}/${repo.name}.git`,
    url: `${apiUrl}/repos/${repo.owner}/${repo.name}`,
    permissions: { admin: true, push: true, pull: true },
  });

  const pullJson = async (repo: RepoState, pr: FakePullRequest): Promise<Record<string, unknown>> => {
    // Like GitHub, an open PR's head follows its branch.
    const fromFork = pr.head.repo !== undefined;
    const headSha = pr.state === 'open' && !fromFork ? ((await refSha(repo, `refs/heads/${pr.head.ref}`)) ?? pr.head.sha) : pr.head.sha;
    const repoRef = { full_name: `${repo.owner}/${repo.name}`, name: repo.name, owner: { login: repo.owner }, fork: false };
    const headRepo = pr.head.repo;
    const headRepoRef = headRepo === undefined ? repoRef : { full_name: `${headRepo.owner}/${headRepo.name}`, name: headRepo.name, owner: { login: headRepo.owner }, fork: true };
    const headOwner = headRepo?.owner ?? repo.owner;
    return {
      id: pr.number * 1000 + 7,
      number: pr.number,
      state: pr.state,
      merged: pr.merged,
      merged_at: pr.merged ? new Date(0).toISOString() : null,
      title: pr.title,
      body: pr.body,
      draft: pr.draft,
      html_url: pr.htmlUrl,
      url: `${apiUrl}/repos/${repo.owner}/${repo.name}/pulls/${pr.number}`,
      user: { login: repo.owner },
      head: { ref: pr.head.ref, sha: headSha, label: `${headOwner}:${pr.head.ref}`, repo: headRepoRef },
      base: { ref: pr.base.ref, sha: pr.base.sha, label: `${repo.owner}:${pr.base.ref}`, repo: repoRef },
    };
  };

  // --- REST routes, relative to /repos/:owner/:repo ------------------------------------------------

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^$/,
      permission: 'metadata',
      handle: async ({ repo }) => ({ status: 200, body: repoJson(repo) }),
    },
    {
      method: 'GET',
      pattern: /^\/git\/ref\/(?<ref>.+)$/,
      permission: 'contents',
      handle: async ({ repo, params }) => {
        const ref = `refs/${params.ref ?? ''}`;
        const sha = await refSha(repo, ref);
        return sha === undefined ? notFound() : { status: 200, body: refJson(repo, ref, sha) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/git\/blobs$/,
      permission: 'contents',
      handle: async ({ repo, body }) => {
        const content = field(body, 'content');
        const encoding = field(body, 'encoding') ?? 'utf-8';
        if (typeof content !== 'string') return invalid('"content" wasn\'t supplied.');
        if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'base64') return invalid(`encoding "${String(encoding)}" is not supported`);
        const data = encoding === 'base64' ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
        const sha = await gitLine(repo.dir, ['hash-object', '-w', '--stdin'], { input: data });
        return { status: 201, body: { sha, url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/blobs/${sha}` } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/git\/blobs\/(?<sha>[^/]+)$/,
      permission: 'contents',
      handle: async ({ repo, params }) => {
        const sha = params.sha ?? '';
        if (!(await objectHasType(repo.dir, sha, 'blob'))) return notFound();
        const data = await runGit(repo.dir, ['cat-file', 'blob', sha]);
        return { status: 200, body: { sha, size: data.length, encoding: 'base64', content: data.toString('base64') } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/git\/commits\/(?<sha>[^/]+)$/,
      permission: 'contents',
      handle: async ({ repo, params }) => {
        const sha = params.sha ?? '';
        if (!(await objectHasType(repo.dir, sha, 'commit'))) return notFound();
        return { status: 200, body: await commitJson(repo, sha) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/git\/trees$/,
      permission: 'contents',
      handle: async ({ repo, body }) => {
        const baseTree = field(body, 'base_tree');
        const tree = field(body, 'tree');
        if (baseTree !== undefined && (typeof baseTree !== 'string' || !(await objectHasType(repo.dir, baseTree, 'tree')))) {
          return invalid('base_tree is not a valid tree oid', 'GitRPC::BadObjectState');
        }
        if (!Array.isArray(tree)) return invalid('"tree" wasn\'t supplied.');
        const entries: { path: string; mode: string; sha: string | null }[] = [];
        for (const item of tree) {
          const entryPath = field(item, 'path');
          const mode = field(item, 'mode');
          const type = field(item, 'type') ?? 'blob';
          const sha = field(item, 'sha');
          const content = field(item, 'content');
          if (typeof entryPath !== 'string' || entryPath === '' || entryPath.startsWith('/') || entryPath.split('/').some((s) => s === '' || s === '.' || s === '..' || s === '.git')) {
            return invalid(`tree.path "${String(entryPath)}" is invalid`);
          }
          if (mode !== '100644' && mode !== '100755' && mode !== '120000') return invalid(`tree.mode "${String(mode)}" is not supported by the fake`);
          if (type !== 'blob') return invalid(`tree.type "${String(type)}" is not supported by the fake`);
          if (sha === null) {
            entries.push({ path: entryPath, mode, sha: null });
          } else if (typeof sha === 'string') {
            if (!(await objectHasType(repo.dir, sha, 'blob'))) return invalid(`tree.sha ${sha} is not a valid blob`, 'GitRPC::BadObjectState');
            entries.push({ path: entryPath, mode, sha });
          } else if (typeof content === 'string') {
            entries.push({ path: entryPath, mode, sha: await gitLine(repo.dir, ['hash-object', '-w', '--stdin'], { input: content }) });
          } else {
            return invalid('tree entries need "sha" or "content"');
          }
        }
        const sha = await writeTree(repo, typeof baseTree === 'string' ? baseTree : undefined, entries);
        const listing = (await runGit(repo.dir, ['ls-tree', '-z', sha])).toString('utf8').split('\0').filter((l) => l !== '');
        return {
          status: 201,
          body: {
            sha,
            url: `${apiUrl}/repos/${repo.owner}/${repo.name}/git/trees/${sha}`,
            truncated: false,
            tree: listing.map((line) => {
              const [meta = '', name = ''] = line.split('\t');
              const [m, t, s] = meta.split(' ');
              return { path: name, mode: m, type: t, sha: s };
            }),
          },
        };
      },
    },
    {
      method: 'POST',
      pattern: /^\/git\/commits$/,
      permission: 'contents',
      handle: async ({ repo, body, credential }) => {
        const message = field(body, 'message');
        const tree = field(body, 'tree');
        const parents = field(body, 'parents') ?? [];
        if (typeof message !== 'string') return invalid('"message" wasn\'t supplied.');
        if (typeof tree !== 'string' || !(await objectHasType(repo.dir, tree, 'tree'))) return invalid('Tree SHA does not exist', 'GitRPC::BadObjectState');
        if (!Array.isArray(parents)) return invalid('"parents" must be an array');
        const args = ['commit-tree', tree];
        for (const parent of parents) {
          if (typeof parent !== 'string' || !(await objectHasType(repo.dir, parent, 'commit'))) return invalid('Parent SHA does not exist or is not a commit object');
          args.push('-p', parent);
        }
        const env: Record<string, string> = {};
        if (credential.kind === 'installation' && app !== undefined) {
          // Like GitHub: without an explicit author, an app's commit is authored by its bot and committed by GitHub.
          const bot = app.botIdentity;
          Object.assign(env, { GIT_AUTHOR_NAME: bot.name, GIT_AUTHOR_EMAIL: bot.email, GIT_COMMITTER_NAME: 'GitHub', GIT_COMMITTER_EMAIL: 'noreply@github.com' });
        }
        for (const [key, role] of [['author', 'AUTHOR'], ['committer', 'COMMITTER']] as const) {
          const who = field(body, key);
          const name = field(who, 'name');
          const email = field(who, 'email');
          const date = field(who, 'date');
          if (typeof name === 'string') env[`GIT_${role}_NAME`] = name;
          if (typeof email === 'string') env[`GIT_${role}_EMAIL`] = email;
          if (typeof date === 'string') env[`GIT_${role}_DATE`] = date;
        }
        const sha = await gitLine(repo.dir, args, { input: message, env });
        return { status: 201, body: await commitJson(repo, sha) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/git\/refs$/,
      permission: 'contents',
      handle: async ({ repo, body }) => {
        const ref = field(body, 'ref');
        const sha = field(body, 'sha');
        if (typeof ref !== 'string' || !ref.startsWith('refs/') || ref.split('/').length < 3 || !(await validRefName(repo, ref))) {
          return invalid("Reference name must start with 'refs/' and have at least two slashes.");
        }
        if (typeof sha !== 'string' || !(await objectHasType(repo.dir, sha, 'commit'))) return invalid('Object does not exist');
        if ((await refSha(repo, ref)) !== undefined) return invalid('Reference already exists');
        try {
          // The all-zero old value makes git refuse if someone created the ref in between.
          await runGit(repo.dir, ['update-ref', ref, sha, ZERO_SHA]);
        } catch {
          return invalid('Reference already exists');
        }
        return { status: 201, body: refJson(repo, ref, sha) };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/git\/refs\/(?<ref>.+)$/,
      permission: 'contents',
      handle: async ({ repo, params, body }) => {
        const ref = `refs/${params.ref ?? ''}`;
        const sha = field(body, 'sha');
        const force = field(body, 'force') === true;
        if (typeof sha !== 'string' || !(await objectHasType(repo.dir, sha, 'commit'))) return invalid('Object does not exist');
        const old = await refSha(repo, ref);
        if (old === undefined) return invalid('Reference does not exist');
        if (!force) {
          try {
            await runGit(repo.dir, ['merge-base', '--is-ancestor', old, sha]);
          } catch {
            return invalid('Update is not a fast forward');
          }
        }
        try {
          await runGit(repo.dir, ['update-ref', ref, sha, old]);
        } catch {
          return invalid('Reference cannot be updated');
        }
        return { status: 200, body: refJson(repo, ref, sha) };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/git\/refs\/(?<ref>.+)$/,
      permission: 'contents',
      handle: async ({ repo, params }) => {
        const ref = `refs/${params.ref ?? ''}`;
        const old = await refSha(repo, ref);
        if (old === undefined) return invalid('Reference does not exist');
        await runGit(repo.dir, ['update-ref', '-d', ref, old]);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls$/,
      permission: 'pull_requests',
      handle: async ({ repo, query }) => {
        const state = query.get('state') ?? 'open';
        const head = query.get('head');
        const base = query.get('base');
        const matches = repo.pulls.filter(
          (pr) =>
            (state === 'all' || pr.state === state) &&
            (head === null || head === `${repo.owner}:${pr.head.ref}` || head.toLowerCase() === `${repo.owner}:${pr.head.ref}`.toLowerCase()) &&
            (base === null || base === pr.base.ref),
        );
        // GitHub lists newest first.
        const sorted = [...matches].sort((a, b) => b.number - a.number);
        return { status: 200, body: await Promise.all(sorted.map((pr) => pullJson(repo, pr))) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/pulls$/,
      permission: 'pull_requests',
      handle: async ({ repo, body }) => {
        const title = field(body, 'title');
        const head = field(body, 'head');
        const base = field(body, 'base');
        const prBody = field(body, 'body') ?? '';
        const draft = field(body, 'draft') === true;
        if (typeof title !== 'string' || title === '') return validationFailed({ resource: 'PullRequest', field: 'title', code: 'missing_field' });
        if (typeof head !== 'string' || typeof base !== 'string') return validationFailed({ resource: 'PullRequest', field: 'head', code: 'missing_field' });
        if (typeof prBody !== 'string') return invalid('"body" must be a string');
        const colon = head.indexOf(':');
        const headOwner = colon === -1 ? repo.owner : head.slice(0, colon);
        const headRef = colon === -1 ? head : head.slice(colon + 1);
        if (headOwner.toLowerCase() !== repo.owner.toLowerCase()) return validationFailed({ resource: 'PullRequest', field: 'head', code: 'invalid' });
        const headSha = await refSha(repo, `refs/heads/${headRef}`);
        if (headSha === undefined) return validationFailed({ resource: 'PullRequest', field: 'head', code: 'invalid' });
        const baseSha = await refSha(repo, `refs/heads/${base}`);
        if (baseSha === undefined) return validationFailed({ resource: 'PullRequest', field: 'base', code: 'invalid' });
        if (headRef === base || headSha === baseSha) {
          return validationFailed({ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${headRef}` });
        }
        if (repo.pulls.some((pr) => pr.state === 'open' && pr.head.ref === headRef)) {
          return validationFailed({ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${repo.owner}:${headRef}.` });
        }
        const number = nextIssueNumber(repo);
        const pr: FakePullRequest = {
          number,
          title,
          body: prBody,
          draft,
          state: 'open',
          merged: false,
          head: { ref: headRef, sha: headSha },
          base: { ref: base, sha: baseSha },
          htmlUrl: `${url}/${repo.owner}/${repo.name}/pull/${number}`,
        };
        repo.pulls.push(pr);
        return { status: 201, body: await pullJson(repo, pr) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(?<number>\d+)\/commits$/,
      permission: 'pull_requests',
      handle: async ({ repo, params }) => {
        const pr = repo.pulls.find((p) => String(p.number) === params.number);
        if (pr === undefined) return notFound();
        const head = ((await pullJson(repo, pr)).head as { sha: string }).sha;
        // Oldest first, like GitHub; a fork's head is not in this repository, so it lists only what is.
        const shas = (await objectHasType(repo.dir, head, 'commit'))
          ? (await gitLine(repo.dir, ['rev-list', '--reverse', `${pr.base.sha}..${head}`])).split('\n').filter((l) => l !== '')
          : [];
        const commits = await Promise.all(
          shas.map(async (sha) => {
            const c = await commitJson(repo, sha);
            return { sha, commit: { message: c['message'], author: c['author'], committer: c['committer'], tree: c['tree'] }, parents: c['parents'] };
          }),
        );
        return { status: 200, body: commits };
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(?<number>\d+)\/comments$/,
      permission: 'pull_requests',
      handle: async ({ repo, params }) => {
        const number = Number(params.number);
        if (!repo.pulls.some((p) => p.number === number)) return notFound();
        const comments = repo.reviewComments.get(number) ?? [];
        return {
          status: 200,
          body: comments.map((c) => ({
            id: c.id,
            body: c.body,
            path: c.path,
            line: c.line,
            user: { login: c.user, type: 'User' },
            created_at: c.createdAt,
            updated_at: c.createdAt,
            html_url: `${url}/${repo.owner}/${repo.name}/pull/${number}#discussion_r${c.id}`,
          })),
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/issues\/(?<number>\d+)\/comments$/,
      permission: 'pull_requests',
      handle: async ({ repo, params }) => {
        const number = Number(params.number);
        if (!isIssueOrPull(repo, number)) return notFound();
        return { status: 200, body: (repo.issueComments.get(number) ?? []).map((c) => issueCommentJson(repo, number, c)) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/issues\/(?<number>\d+)\/comments$/,
      // GitHub lets either issues:write or pull_requests:write comment on a pull request; the fake's apps hold the latter.
      permission: 'pull_requests',
      handle: async ({ repo, params, body, credential }) => {
        const number = Number(params.number);
        if (!isIssueOrPull(repo, number)) return notFound();
        const text = field(body, 'body');
        if (typeof text !== 'string' || text === '') return validationFailed({ resource: 'IssueComment', field: 'body', code: 'missing_field' });
        const user = credential.kind === 'installation' && app !== undefined ? app.botIdentity.name : repo.owner;
        return { status: 201, body: issueCommentJson(repo, number, addIssueComment(repo, number, text, user)) };
      },
    },
    {
      method: 'PATCH',
      pattern: /^\/issues\/comments\/(?<id>\d+)$/,
      permission: 'pull_requests',
      handle: async ({ repo, params, body }) => {
        const found = findIssueComment(repo, Number(params.id));
        if (found === undefined) return notFound();
        const text = field(body, 'body');
        if (typeof text !== 'string' || text === '') return validationFailed({ resource: 'IssueComment', field: 'body', code: 'missing_field' });
        found.comment.body = text;
        found.comment.updatedAt = new Date().toISOString();
        return { status: 200, body: issueCommentJson(repo, found.number, found.comment) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/issues\/(?:(?<number>\d+)|comments\/(?<id>\d+))\/reactions$/,
      permission: 'pull_requests',
      handle: async ({ repo, params, body, credential }) => {
        const content = field(body, 'content');
        const allowed = ['+1', '-1', 'laugh', 'confused', 'heart', 'hooray', 'rocket', 'eyes'];
        if (typeof content !== 'string' || !allowed.includes(content)) return validationFailed({ resource: 'Reaction', field: 'content', code: 'invalid' });
        let target: FakeReaction['target'];
        if (params.number !== undefined) {
          if (!isIssueOrPull(repo, Number(params.number))) return notFound();
          target = { kind: 'issue', number: Number(params.number) };
        } else {
          if (findIssueComment(repo, Number(params.id)) === undefined) return notFound();
          target = { kind: 'comment', id: Number(params.id) };
        }
        const user = actingUser(repo, credential);
        const same = (r: FakeReaction) => r.user === user && r.content === content && JSON.stringify(r.target) === JSON.stringify(target);
        // Like GitHub: the same user's same reaction again is answered 200 with the existing one.
        const existing = repo.reactions.find(same);
        if (existing === undefined) repo.reactions.push({ target, content, user });
        return { status: existing === undefined ? 201 : 200, body: { id: repo.reactions.findIndex(same) + 1, content, user: { login: user, type: 'User' } } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/collaborators\/(?<login>[^/]+)\/permission$/,
      permission: 'metadata',
      handle: async ({ repo, params }) => {
        const login = params.login ?? '';
        const role = repo.roles.get(login.toLowerCase()) ?? (login.toLowerCase() === repo.owner.toLowerCase() ? 'admin' : 'none');
        // `permission` is the legacy name of the role: maintain counts as write, triage as read.
        const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
        return {
          status: 200,
          body: {
            permission,
            role_name: role,
            user: { login, type: 'User', permissions: { admin: role === 'admin', maintain: role === 'admin' || role === 'maintain', push: permission === 'admin' || permission === 'write', triage: role !== 'none' && role !== 'read', pull: role !== 'none' } },
          },
        };
      },
    },
    {
      method: 'GET',
      pattern: /^\/commits\/(?<sha>[0-9a-f]{40})$/,
      permission: 'contents',
      handle: async ({ repo, params }) => {
        const sha = params.sha ?? '';
        if (!(await objectHasType(repo.dir, sha, 'commit'))) return notFound();
        const c = await commitJson(repo, sha);
        const parents = c['parents'] as { sha: string }[];
        // Like GitHub: the files changed against the first parent (all files for a root commit).
        const diff = parents[0] === undefined ? ['ls-tree', '-r', '--name-only', sha] : ['diff-tree', '-r', '--no-renames', '--name-status', parents[0].sha, sha];
        const lines = (await gitLine(repo.dir, diff).catch(() => '')).split('\n').filter((l) => l !== '');
        const status: Record<string, string> = { A: 'added', M: 'modified', D: 'removed', T: 'changed' };
        const files = lines.map((line) => {
          if (parents[0] === undefined) return { filename: line, status: 'added' };
          const [code = '', filename = ''] = line.split('\t');
          return { filename, status: status[code] ?? 'modified' };
        });
        return { status: 200, body: { sha, commit: { message: c['message'], author: c['author'], committer: c['committer'], tree: c['tree'] }, parents, files } };
      },
    },
    {
      method: 'GET',
      pattern: /^\/pulls\/(?<number>\d+)$/,
      permission: 'pull_requests',
      handle: async ({ repo, params }) => {
        const pr = repo.pulls.find((p) => String(p.number) === params.number);
        return pr === undefined ? notFound() : { status: 200, body: await pullJson(repo, pr) };
      },
    },
  ];

  const validRefName = async (repo: RepoState, ref: string): Promise<boolean> => {
    try {
      await runGit(repo.dir, ['check-ref-format', ref]);
      return true;
    } catch {
      return false;
    }
  };

  // --- HTTP -----------------------------------------------------------------------------------------

  /** Judges an Authorization header: the personal token, one of the app's installation tokens, an app JWT, or junk. */
  const classify = (header: string | undefined): Credential => {
    const auth = parseAuthorization(header);
    if (auth === undefined) return { kind: 'none' };
    if (auth.token === opts.token && auth.token !== '') return { kind: 'token', user: auth.user };
    const minted = app?.findToken(auth.token);
    if (minted !== undefined) return { kind: 'installation', token: minted, user: auth.user };
    if (auth.user === 'token' && looksLikeJwt(auth.token)) {
      if (app === undefined) return { kind: 'invalid', message: 'A JSON web token could not be decoded' };
      const check = app.verifyJwt(auth.token);
      return check.ok ? { kind: 'jwt' } : { kind: 'invalid', message: check.message };
    }
    return { kind: 'invalid', message: 'Bad credentials' };
  };

  const readJson = async (req: IncomingMessage): Promise<{ ok: true; body: unknown } | { ok: false; response: ApiResponse }> => {
    const raw = await readBody(req);
    try {
      return { ok: true, body: raw.length === 0 ? {} : JSON.parse(raw.toString('utf8')) };
    } catch {
      return { ok: false, response: { status: 400, body: { message: 'Problems parsing JSON', documentation_url: DOCS_URL } } };
    }
  };

  const unauthorized = (message: string): ApiResponse => ({ status: 401, body: { message, documentation_url: DOCS_URL } });

  /** Routes only a GitHub App (its JWT) may call. `undefined` when `apiPath` is none of them. */
  const handleAppApi = async (req: IncomingMessage, apiPath: string, credential: Credential): Promise<ApiResponse | undefined> => {
    const lookup = /^\/repos\/(?<owner>[^/]+)\/(?<repo>[^/]+)\/installation$/.exec(apiPath);
    const tokens = /^\/app\/installations\/(?<id>\d+)\/access_tokens$/.exec(apiPath);
    if (lookup === null && tokens === null && apiPath !== '/app') return undefined;
    if (credential.kind === 'none') return unauthorized('Requires authentication');
    if (credential.kind === 'invalid') return unauthorized(credential.message);
    if (credential.kind !== 'jwt' || app === undefined) {
      return unauthorized('A JSON web token could not be decoded: this endpoint needs a GitHub App JWT, not a token');
    }
    if (apiPath === '/app' && req.method === 'GET') {
      return { status: 200, body: { id: app.id, slug: app.slug, name: app.slug, permissions: app.permissions, html_url: `${url}/apps/${app.slug}` } };
    }
    if (lookup?.groups !== undefined && req.method === 'GET') {
      const owner = lookup.groups.owner ?? '';
      const name = lookup.groups.repo ?? '';
      const installation = findRepo(owner, name) === undefined ? undefined : app.installationForRepo(owner, name);
      if (installation === undefined) return notFound();
      return {
        status: 200,
        body: {
          id: installation.id,
          app_id: app.id,
          app_slug: app.slug,
          account: { login: installation.account, type: 'Organization' },
          repository_selection: installation.selection === 'all' ? 'all' : 'selected',
          permissions: app.permissions,
          target_type: 'Organization',
          access_tokens_url: `${apiUrl}/app/installations/${installation.id}/access_tokens`,
        },
      };
    }
    if (tokens?.groups !== undefined && req.method === 'POST') {
      const installationId = Number(tokens.groups.id);
      const parsed = await readJson(req);
      if (!parsed.ok) return parsed.response;
      const repositories = field(parsed.body, 'repositories');
      const permissions = field(parsed.body, 'permissions');
      const record: FakeAccessTokenRequest = {
        installationId,
        ...(repositories === undefined ? {} : { repositories }),
        ...(permissions === undefined ? {} : { permissions }),
        status: 0,
      };
      app.accessTokenRequests.push(record);
      const installation = app.installationById(installationId);
      if (installation === undefined) {
        record.status = 404;
        return notFound();
      }
      if (field(parsed.body, 'repository_ids') !== undefined) {
        record.status = 422;
        return invalid('repository_ids is not supported by the fake; send repository names');
      }
      const minted = app.mint(installation, { repositories, permissions }, (owner, name) => findRepo(owner, name) !== undefined);
      if (!('token' in minted)) {
        record.status = minted.status;
        return invalid(minted.message);
      }
      record.status = 201;
      const scoped = minted.token.repositories;
      return {
        status: 201,
        body: {
          token: minted.token.token,
          expires_at: minted.token.expiresAt.replace(/\.\d{3}Z$/, 'Z'),
          permissions: minted.token.permissions,
          repository_selection: scoped === undefined && installation.selection === 'all' ? 'all' : 'selected',
          ...(scoped === undefined
            ? {}
            : {
                repositories: scoped.map((fullName) => {
                  const [owner = '', name = ''] = fullName.split('/');
                  return repoJson(mustRepo(owner, name));
                }),
              }),
        },
      };
    }
    return notFound();
  };

  const handleApi = async (req: IncomingMessage, apiPath: string, query: URLSearchParams, credential: Credential): Promise<ApiResponse> => {
    const appResponse = await handleAppApi(req, apiPath, credential);
    if (appResponse !== undefined) return appResponse;
    if (credential.kind === 'none') return unauthorized('Requires authentication');
    if (credential.kind === 'invalid') return unauthorized('Bad credentials');
    if (credential.kind === 'jwt') return { status: 403, body: { message: 'Resource not accessible by integration: this endpoint needs an installation access token, not the app JWT', documentation_url: DOCS_URL } };

    const match = /^\/repos\/(?<owner>[^/]+)\/(?<repo>[^/]+)(?<rest>\/.*)?$/.exec(apiPath);
    if (match?.groups === undefined) return notFound();
    const repo = findRepo(match.groups.owner ?? '', match.groups.repo ?? '');
    if (repo === undefined) return notFound();
    const rest = match.groups.rest ?? '';
    for (const route of routes) {
      if (route.method !== req.method) continue;
      const params = route.pattern.exec(rest);
      if (params === null) continue;
      if (credential.kind === 'installation' && app !== undefined) {
        const refusal = app.refusal(credential.token, repo.owner, repo.name, route.permission, req.method === 'GET' ? 'read' : 'write');
        if (refusal === 'expired') return unauthorized('Bad credentials');
        if (refusal === 'forbidden') return { status: 403, body: { message: 'Resource not accessible by integration', documentation_url: DOCS_URL, status: '403' } };
      }
      let body: unknown;
      if (req.method === 'POST' || req.method === 'PATCH' || req.method === 'PUT') {
        const parsed = await readJson(req);
        if (!parsed.ok) return parsed.response;
        body = parsed.body;
      }
      return route.handle({ repo, credential, params: { ...params.groups }, query, body });
    }
    return notFound();
  };

  const handleGit = async (req: IncomingMessage, res: ServerResponse, gitPath: string, rawQuery: string, credential: Credential): Promise<number> => {
    const text = (status: number, message: string, headers: Record<string, string> = {}): number => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
      res.end(`${message}\n`);
      return status;
    };
    const match = /^\/(?<owner>[^/]+)\/(?<repo>[^/]+?)(?:\.git)?(?<rest>\/.*)$/.exec(gitPath);
    if (match?.groups === undefined) return text(404, 'Not Found');
    const repo = findRepo(match.groups.owner ?? '', match.groups.repo ?? '');
    if (repo === undefined) return text(404, 'Repository not found.');
    const rest = match.groups.rest ?? '';
    if (rest.endsWith('/git-receive-pack') || new URLSearchParams(rawQuery).get('service') === 'git-receive-pack') {
      return text(403, 'Pushes over HTTP are not supported by the fake GitHub; use the REST API.');
    }
    const challenge = { 'www-authenticate': 'Basic realm="GitHub"' };
    if (credential.kind === 'invalid' || credential.kind === 'jwt') return text(401, 'Invalid username or token.', challenge);
    if (credential.kind === 'installation' && app !== undefined) {
      const refusal = app.refusal(credential.token, repo.owner, repo.name, 'contents', 'read');
      if (refusal === 'expired') return text(401, 'Invalid username or token.', challenge);
      if (refusal === 'forbidden') return text(403, `Permission to ${repo.owner}/${repo.name}.git denied to ${app.botIdentity.name}.`);
    }
    if (repo.private && credential.kind === 'none') return text(401, 'Authentication required.', challenge);
    return serveGitHttpBackend(req, res, {
      projectRoot,
      pathInfo: `/${repo.owner}/${repo.name}.git${rest}`,
      queryString: rawQuery,
      ...(credential.kind === 'none' ? {} : { remoteUser: credential.user }),
    });
  };

  const takeFault = (method: string, logPath: string): Fault | undefined => {
    const fault = faults.find(
      (f) => f.remaining > 0 && (f.method === '*' || f.method === method) && (typeof f.pattern === 'string' ? f.pattern === logPath : f.pattern.test(logPath)),
    );
    if (fault !== undefined) fault.remaining -= 1;
    return fault;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const rawPath = queryAt === -1 ? target : target.slice(0, queryAt);
    const rawQuery = queryAt === -1 ? '' : target.slice(queryAt + 1);
    const isApi = rawPath === '/api/v3' || rawPath.startsWith('/api/v3/');
    let decoded: string;
    try {
      decoded = decodeURIComponent(isApi ? rawPath.slice('/api/v3'.length) || '/' : rawPath);
    } catch {
      decoded = rawPath;
    }
    const credential = classify(req.headers.authorization);
    const entry: FakeRequestLogEntry = {
      kind: isApi ? 'api' : 'git',
      method,
      path: decoded,
      hasAuth: req.headers.authorization !== undefined,
      credential: credential.kind,
      status: 0,
    };
    res.on('finish', () => {
      entry.status = res.statusCode;
      requests.push(entry);
    });

    const fault = takeFault(method, decoded);
    if (fault !== undefined) {
      req.resume();
      const body = 'body' in fault.response ? fault.response.body : { message: `Injected failure (${fault.status})`, documentation_url: DOCS_URL };
      sendJson(res, fault.status, body, fault.response.headers);
      return;
    }
    if (isApi) {
      const out = await handleApi(req, decoded, new URLSearchParams(rawQuery), credential);
      req.resume();
      sendJson(res, out.status, out.body);
    } else {
      await handleGit(req, res, decoded, rawQuery, credential);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: `fake GitHub error: ${err instanceof Error ? err.message : String(err)}` });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fake GitHub is not listening on TCP');
  const { port } = address;
  url = `http://127.0.0.1:${port}`;
  apiUrl = `${url}/api/v3`;

  return {
    url,
    apiUrl,
    token: opts.token,
    requests,
    async createRepo(owner, name, repoOpts) {
      if (!/^[A-Za-z0-9_.-]+$/.test(owner) || !/^[A-Za-z0-9_.-]+$/.test(name) || name.endsWith('.git')) {
        throw new Error(`invalid fake repository name ${owner}/${name}`);
      }
      if (findRepo(owner, name) !== undefined) throw new Error(`fake repository ${owner}/${name} already exists`);
      const dir = path.join(projectRoot, owner, `${name}.git`);
      await mkdir(path.dirname(dir), { recursive: true });
      const defaultBranch = repoOpts.defaultBranch ?? 'main';
      const repo: RepoState = {
        owner,
        name,
        dir,
        private: repoOpts.private ?? false,
        defaultBranch,
        pulls: [],
        issueComments: new Map(),
        issues: [],
        reactions: [],
        roles: new Map(),
        reviewComments: new Map(),
      };
      await runGit(dir, ['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`]);
      const files = Object.entries(repoOpts.files);
      if (files.length > 0) {
        const entries: { path: string; mode: string; sha: string }[] = [];
        for (const [filePath, file] of files) {
          const content = typeof file === 'string' ? file : file.content;
          const mode = typeof file === 'string' ? '100644' : (file.mode ?? '100644');
          entries.push({ path: filePath, mode, sha: await gitLine(dir, ['hash-object', '-w', '--stdin'], { input: content }) });
        }
        const tree = await writeTree(repo, undefined, entries);
        const commit = await gitLine(dir, ['commit-tree', tree], { input: 'Initial commit\n' });
        await runGit(dir, ['update-ref', `refs/heads/${defaultBranch}`, commit]);
      }
      repos.set(repoKey(owner, name), repo);
    },
    repoDir: (owner, name) => mustRepo(owner, name).dir,
    pulls: (owner, name) => mustRepo(owner, name).pulls.map((pr) => ({ ...pr, head: { ...pr.head }, base: { ...pr.base } })),
    closePull(owner, name, pullNumber) {
      mustPull(owner, name, pullNumber).state = 'closed';
    },
    mergePull(owner, name, pullNumber) {
      const pr = mustPull(owner, name, pullNumber);
      pr.state = 'closed';
      pr.merged = true;
    },
    setPullHeadRepo(owner, name, pullNumber, head) {
      mustPull(owner, name, pullNumber).head.repo = { ...head };
    },
    addIssueComment(owner, name, pullNumber, comment) {
      if (!isIssueOrPull(mustRepo(owner, name), pullNumber)) throw new Error(`fake repository ${owner}/${name} has no issue or pull request ${pullNumber}`);
      return addIssueComment(mustRepo(owner, name), pullNumber, comment.body, comment.user ?? 'octocat');
    },
    addReviewComment(owner, name, pullNumber, comment) {
      mustPull(owner, name, pullNumber);
      const repo = mustRepo(owner, name);
      const created: FakeReviewComment = {
        id: nextCommentId++,
        body: comment.body,
        user: comment.user ?? 'octocat',
        path: comment.path,
        line: comment.line,
        createdAt: new Date().toISOString(),
      };
      repo.reviewComments.set(pullNumber, [...(repo.reviewComments.get(pullNumber) ?? []), created]);
      return { ...created };
    },
    issueComments: (owner, name, pullNumber) => (mustRepo(owner, name).issueComments.get(pullNumber) ?? []).map((c) => ({ ...c })),
    createIssue(owner, name, issue) {
      const repo = mustRepo(owner, name);
      const number = nextIssueNumber(repo);
      repo.issues.push({ number, title: issue.title, body: issue.body ?? '', user: issue.user ?? 'octocat', htmlUrl: `${url}/${repo.owner}/${repo.name}/issues/${number}` });
      return number;
    },
    issues: (owner, name) => mustRepo(owner, name).issues.map((i) => ({ ...i })),
    reactions: (owner, name) => mustRepo(owner, name).reactions.map((r) => ({ ...r, target: { ...r.target } })),
    setRole(owner, name, login, role) {
      mustRepo(owner, name).roles.set(login.toLowerCase(), role);
    },
    failNext(method, pathPattern, status, times = 1, response = {}) {
      faults.push({ method: method.toUpperCase(), pattern: pathPattern, status, remaining: times, response });
    },
    clearFaults() {
      faults.length = 0;
    },
    installApp(owner, repo) {
      if (app === undefined) throw new Error('fake GitHub was started without an app; pass startFakeGitHub({ app })');
      return app.install(owner, repo);
    },
    accessTokenRequests: app?.accessTokenRequests ?? [],
    installationTokens: () => app?.mintedTokens() ?? [],
    expireInstallationTokens() {
      app?.expireTokens();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await rm(root, { recursive: true, force: true });
    },
  };
}

// --- small pure helpers ---------------------------------------------------------------------------

/** `Authorization: token X`, `Bearer X`, or Basic with the token as password (username is ignored). */
function parseAuthorization(header: string | undefined): { user: string; token: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^(\w+)\s+(.+)$/.exec(header.trim());
  if (match === null) return { user: '', token: '' };
  const scheme = (match[1] ?? '').toLowerCase();
  const value = match[2] ?? '';
  if (scheme === 'token' || scheme === 'bearer') return { user: 'token', token: value };
  if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon === -1 ? { user: '', token: decoded } : { user: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
  }
  return { user: '', token: '' };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? Reflect.get(value, key) : undefined;
}

function notFound(): ApiResponse {
  return { status: 404, body: { message: 'Not Found', documentation_url: DOCS_URL, status: '404' } };
}

function invalid(message: string, prefix?: string): ApiResponse {
  return { status: 422, body: { message: prefix === undefined ? message : `${prefix}: ${message}`, documentation_url: DOCS_URL, status: '422' } };
}

function validationFailed(error: Record<string, string>): ApiResponse {
  return { status: 422, body: { message: 'Validation Failed', errors: [error], documentation_url: DOCS_URL, status: '422' } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(data), ...headers });
  res.end(data);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function hashCode(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i += 1) h = (Math.imul(31, h) + text.charCodeAt(i)) | 0;
  return h;
}
