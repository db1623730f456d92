import type { Octokit } from '@octokit/rest';
import type { FileChange, PullRequestRef } from '@tinyb/contracts';
import {
  AppError,
  throwIfAborted,
  type ChangedFile,
  type CheckoutLease,
  type GitHost,
  type Logger,
  type PullRequestComment,
  type PullRequestCommit,
  type PullRequestDraft,
  type PullRequestInfo,
  type RepoCoordinates,
  type RepoInfo,
} from '@tinyb/core';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { CheckoutCache } from './checkout-cache.js';
import { downloadCheckout, downloadCheckoutToFile } from './download-checkout.js';
import type { GitHubCredentials, RepoCredentials } from './github-credentials.js';
import { asHttpError, isAlreadyExists, toGitHostError } from './github-error.js';
import { PersonalTokenCredentials } from './personal-token-credentials.js';

export type GitHubHostOptions =
  | {
      /** PersonalTokenCredentials or GitHubAppCredentials: who the host is, per repository. */
      credentials: GitHubCredentials;
      /** Where repositories are cloned from: `https://github.com`, or the GitHub Enterprise / fake host. */
      gitUrl: string;
      /**
       * The author of the commits it creates. Unset, GitHub attributes them to the credential's identity:
       * the token's user, or an app's bot (keep it unset for an app, whose commits should stay the bot's).
       */
      commitAuthor?: CommitAuthor;
      /**
       * Checkouts by repository and commit, lent to openCheckout (a per-worker cache). Absent: each openCheckout
       * archives into a temporary file of its own, deleted on release (still streamed, never in memory).
       */
      checkoutCache?: CheckoutCache;
      logger: Logger;
    }
  | {
      /**
       * The original form, one personal token: same as `credentials: new PersonalTokenCredentials({ token, octokit })`.
       * @deprecated pass `credentials`.
       */
      octokit: Octokit;
      token: string;
      gitUrl: string;
      logger: Logger;
    };

export interface CommitAuthor {
  name: string;
  email: string;
}

function branchMoved(branch: string, expected: string, found: string): AppError {
  return new AppError('pr_branch_moved', `branch ${branch} is no longer at ${expected.slice(0, 12)} (found ${found.length === 40 ? found.slice(0, 12) : found}); nothing was overwritten`);
}

type TreeEntry = { path: string; mode: ChangedFile['mode']; type: 'blob'; sha: string | null };

/** What a `recover` hook returns when it turns a failure into a result; `undefined` lets the failure through. */
type Recovered<T> = { value: T } | undefined;

/**
 * GitHost over GitHub's REST API ("Plan A"): changes go up as blobs, a tree and a commit through the Git
 * Data API, so the sandbox that produced them never holds a credential. Each call asks the credentials
 * for the repository's token (a personal token, or an app installation token scoped to that repository);
 * if GitHub calls it bad, the call is tried once more with fresh credentials. Every call honours the job's
 * AbortSignal; every failure leaves as an AppError without the token or the Octokit request attached.
 */
export class GitHubHost implements GitHost {
  private readonly credentials: GitHubCredentials;
  private readonly gitUrl: string;
  private readonly commitAuthor: CommitAuthor | undefined;
  private readonly logger: Logger;
  private readonly checkouts: CheckoutCache;

  constructor(opts: GitHubHostOptions) {
    this.credentials = 'credentials' in opts ? opts.credentials : new PersonalTokenCredentials({ token: opts.token, octokit: opts.octokit });
    this.gitUrl = opts.gitUrl;
    this.commitAuthor = 'commitAuthor' in opts ? opts.commitAuthor : undefined;
    this.logger = opts.logger.child({ component: 'github-host' });
    // Without a cache: one that keeps nothing (every lease its own file, deleted on release).
    this.checkouts = ('checkoutCache' in opts ? opts.checkoutCache : undefined) ?? new CheckoutCache({ dir: path.join(os.tmpdir(), `tinyb-checkouts-${process.pid}-${randomUUID()}`), maxBytes: 0 });
  }

  async openCheckout(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<CheckoutLease> {
    const startedAt = Date.now();
    const lease = await this.checkouts.open(
      { resolveBranch: (r, b, s) => this.resolveBranch(r, b, s), archiveTo: (r, b, file, s) => this.archiveTo(r, b, file, s) },
      repo,
      branch,
      signal,
    );
    this.logger.debug({ owner: repo.owner, repo: repo.name, sha: lease.sha, archiveBytes: lease.bytes, cached: lease.cached, durationMs: Date.now() - startedAt }, 'checkout ready');
    return lease;
  }

  /** downloadCheckout's clone, archived into `file`, with the same credential handling. */
  private async archiveTo(repo: RepoCoordinates, branch: string, file: string, signal: AbortSignal): Promise<{ sha: string }> {
    let creds = await this.credentialsFor('git clone', repo, signal);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await downloadCheckoutToFile({ gitUrl: this.gitUrl, token: creds.token, repo, branch, signal, file });
      } catch (err) {
        const denied = err instanceof AppError && err.code === 'repo_access_denied';
        if (attempt === 1 && denied && !signal.aborted && this.credentials.invalidate(repo, creds.token)) {
          this.logger.warn({ owner: repo.owner, repo: repo.name, operation: 'git clone' }, 'github refused the credentials, trying fresh ones');
          creds = await this.credentialsFor('git clone', repo, signal);
          continue;
        }
        throw this.fail('git clone', repo, err, signal, creds.token);
      }
    }
  }

  async getRepo(repo: RepoCoordinates, signal: AbortSignal): Promise<RepoInfo> {
    const { data } = await this.call('repos.get', repo, signal, (octokit) => octokit.rest.repos.get({ owner: repo.owner, repo: repo.name, request: { signal } }));
    return { defaultBranch: data.default_branch, private: data.private };
  }

  async resolveBranch(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<string> {
    const { data } = await this.call(
      'git.getRef',
      repo,
      signal,
      (octokit) => octokit.rest.git.getRef({ owner: repo.owner, repo: repo.name, ref: `heads/${branch}`, request: { signal } }),
      (err) => {
        if (asHttpError(err)?.status === 404) throw new AppError('branch_not_found', `branch ${branch} does not exist in ${repo.owner}/${repo.name}`);
        return undefined;
      },
    );
    return data.object.sha;
  }

  async downloadCheckout(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<{ sha: string; archive: Uint8Array }> {
    const startedAt = Date.now();
    let creds = await this.credentialsFor('git clone', repo, signal);
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await downloadCheckout({ gitUrl: this.gitUrl, token: creds.token, repo, branch, signal });
        this.logger.debug({ owner: repo.owner, repo: repo.name, sha: result.sha, archiveBytes: result.archive.byteLength, durationMs: Date.now() - startedAt }, 'checkout downloaded');
        return result;
      } catch (err) {
        // git does not tell 401 from 403 in a way worth parsing; a second denial ends it.
        const denied = err instanceof AppError && err.code === 'repo_access_denied';
        if (attempt === 1 && denied && !signal.aborted && this.credentials.invalidate(repo, creds.token)) {
          this.logger.warn({ owner: repo.owner, repo: repo.name, operation: 'git clone' }, 'github refused the credentials, trying fresh ones');
          creds = await this.credentialsFor('git clone', repo, signal);
          continue;
        }
        throw this.fail('git clone', repo, err, signal, creds.token);
      }
    }
  }

  async createCommit(
    repo: RepoCoordinates,
    input: { baseSha: string; files: ChangedFile[]; message: string },
    signal: AbortSignal,
  ): Promise<string> {
    const owner = repo.owner;
    const name = repo.name;
    const tree: TreeEntry[] = [];
    // One blob at a time: the throttling plugin serialises writes anyway, and order keeps failures easy to read.
    for (const file of input.files) {
      if (file.change === 'deleted') {
        tree.push({ path: file.path, mode: file.mode, type: 'blob', sha: null });
        continue;
      }
      if (file.content === undefined) throw new AppError('internal', `changed file ${file.path} (${file.change}) has no content`);
      const content = Buffer.from(file.content.buffer, file.content.byteOffset, file.content.byteLength).toString('base64');
      const { data } = await this.call('git.createBlob', repo, signal, (octokit) =>
        octokit.rest.git.createBlob({ owner, repo: name, content, encoding: 'base64', request: { signal } }),
      );
      tree.push({ path: file.path, mode: file.mode, type: 'blob', sha: data.sha });
    }
    const base = await this.call('git.getCommit', repo, signal, (octokit) =>
      octokit.rest.git.getCommit({ owner, repo: name, commit_sha: input.baseSha, request: { signal } }),
    );
    const newTree = await this.call('git.createTree', repo, signal, (octokit) =>
      octokit.rest.git.createTree({ owner, repo: name, base_tree: base.data.tree.sha, tree, request: { signal } }),
    );
    // Without an author, GitHub attributes the commit to the credential's identity (an app's bot for an installation token).
    const author = this.commitAuthor ? { author: { ...this.commitAuthor } } : {};
    const commit = await this.call('git.createCommit', repo, signal, (octokit) =>
      octokit.rest.git.createCommit({ owner, repo: name, message: input.message, tree: newTree.data.sha, parents: [input.baseSha], ...author, request: { signal } }),
    );
    this.logger.info({ owner, repo: name, sha: commit.data.sha, files: input.files.length }, 'commit created');
    return commit.data.sha;
  }

  async pushBranch(repo: RepoCoordinates, branch: string, sha: string, signal: AbortSignal): Promise<void> {
    const created = await this.call(
      'git.createRef',
      repo,
      signal,
      async (octokit) => {
        await octokit.rest.git.createRef({ owner: repo.owner, repo: repo.name, ref: `refs/heads/${branch}`, sha, request: { signal } });
        return true;
      },
      (err) => (isAlreadyExists(err) ? { value: false } : undefined),
    );
    if (created) {
      this.logger.info({ owner: repo.owner, repo: repo.name, branch, sha }, 'branch created');
      return;
    }
    // A retried job reuses its branch: the new commit replaces whatever an earlier attempt left there.
    await this.call('git.updateRef', repo, signal, (octokit) =>
      octokit.rest.git.updateRef({ owner: repo.owner, repo: repo.name, ref: `heads/${branch}`, sha, force: true, request: { signal } }),
    );
    this.logger.info({ owner: repo.owner, repo: repo.name, branch, sha }, 'branch moved');
  }

  async getPullRequest(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestInfo> {
    const { data } = await this.call(
      'pulls.get',
      repo,
      signal,
      (octokit) => octokit.rest.pulls.get({ owner: repo.owner, repo: repo.name, pull_number: number, request: { signal } }),
      (err) => {
        if (asHttpError(err)?.status === 404) throw new AppError('not_found', `pull request #${number} does not exist in ${repo.owner}/${repo.name}`);
        return undefined;
      },
    );
    return {
      number: data.number,
      url: data.html_url,
      title: data.title,
      body: data.body ?? '',
      state: data.state === 'open' ? 'open' : 'closed',
      merged: data.merged === true || data.merged_at != null,
      head: { ref: data.head.ref, sha: data.head.sha, repoFullName: data.head.repo?.full_name ?? null },
      base: { ref: data.base.ref },
    };
  }

  async listPullRequestComments(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestComment[]> {
    const base = { owner: repo.owner, repo: repo.name, per_page: 100, request: { signal } } as const;
    // A few pages of each at most: the agent sees a bounded context anyway, and the newest matter most.
    const conversation = await this.call('issues.listComments', repo, signal, (octokit) =>
      octokit.paginate(octokit.rest.issues.listComments, { ...base, issue_number: number }, (res, done) => {
        if (res.data.length < 100) done();
        return res.data;
      }),
    );
    const reviews = await this.call('pulls.listReviewComments', repo, signal, (octokit) =>
      octokit.paginate(octokit.rest.pulls.listReviewComments, { ...base, pull_number: number }, (res, done) => {
        if (res.data.length < 100) done();
        return res.data;
      }),
    );
    const comments: PullRequestComment[] = [
      ...conversation.map((c) => ({ kind: 'conversation' as const, author: c.user?.login ?? 'ghost', body: c.body ?? '', createdAt: c.created_at })),
      ...reviews.map((c) => ({
        kind: 'review' as const,
        author: c.user?.login ?? 'ghost',
        body: c.body,
        createdAt: c.created_at,
        path: c.path,
        ...(typeof c.line === 'number' ? { line: c.line } : {}),
      })),
    ];
    return comments.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async listPullRequestCommits(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestCommit[]> {
    const commits = await this.call('pulls.listCommits', repo, signal, (octokit) =>
      octokit.paginate(octokit.rest.pulls.listCommits, { owner: repo.owner, repo: repo.name, pull_number: number, per_page: 100, request: { signal } }, (res, done) => {
        if (res.data.length < 100) done();
        return res.data;
      }),
    );
    return commits.map((c) => ({ sha: c.sha, message: c.commit.message }));
  }

  async getCommitFiles(repo: RepoCoordinates, sha: string, signal: AbortSignal): Promise<FileChange[]> {
    const { data } = await this.call('repos.getCommit', repo, signal, (octokit) =>
      octokit.rest.repos.getCommit({ owner: repo.owner, repo: repo.name, ref: sha, request: { signal } }),
    );
    return (data.files ?? []).map((f) => ({ path: f.filename, change: f.status === 'added' ? 'added' : f.status === 'removed' ? 'deleted' : 'modified' }));
  }

  async advanceBranch(repo: RepoCoordinates, branch: string, move: { from: string; to: string }, signal: AbortSignal): Promise<void> {
    // Checked first for a clear error; `force: false` below is what makes it safe, as GitHub applies it atomically.
    const current = await this.resolveBranch(repo, branch, signal);
    if (current !== move.from) throw branchMoved(branch, move.from, current);
    await this.call(
      'git.updateRef',
      repo,
      signal,
      (octokit) => octokit.rest.git.updateRef({ owner: repo.owner, repo: repo.name, ref: `heads/${branch}`, sha: move.to, force: false, request: { signal } }),
      (err) => {
        // 422 "Update is not a fast forward": someone pushed between the check and the update.
        if (asHttpError(err)?.status === 422) throw branchMoved(branch, move.from, 'a commit pushed meanwhile');
        return undefined;
      },
    );
    this.logger.info({ owner: repo.owner, repo: repo.name, branch, from: move.from, to: move.to }, 'branch advanced');
  }

  async commentOnPullRequest(repo: RepoCoordinates, number: number, body: string, signal: AbortSignal): Promise<{ url: string }> {
    const { data } = await this.call('issues.createComment', repo, signal, (octokit) =>
      octokit.rest.issues.createComment({ owner: repo.owner, repo: repo.name, issue_number: number, body, request: { signal } }),
    );
    return { url: data.html_url };
  }

  async openPullRequest(
    repo: RepoCoordinates,
    draft: PullRequestDraft,
    signal: AbortSignal,
  ): Promise<PullRequestRef & { reused: boolean }> {
    const existing = await this.findOpenPullRequest(repo, draft.branch, signal);
    if (existing !== undefined) return { ...existing, reused: true };
    const created = await this.call(
      'pulls.create',
      repo,
      signal,
      async (octokit) => {
        const { data } = await octokit.rest.pulls.create({
          owner: repo.owner,
          repo: repo.name,
          title: draft.title,
          body: draft.body,
          head: draft.branch,
          base: draft.base,
          draft: draft.draft,
          request: { signal },
        });
        return data;
      },
      (err) => (isAlreadyExists(err) ? { value: undefined } : undefined),
    );
    if (created !== undefined) {
      this.logger.info({ owner: repo.owner, repo: repo.name, number: created.number, branch: draft.branch }, 'pull request opened');
      return { url: created.html_url, number: created.number, branch: draft.branch, reused: false };
    }
    // Someone (an earlier attempt of this job, still running) opened it between our list and create.
    const raced = await this.findOpenPullRequest(repo, draft.branch, signal);
    if (raced !== undefined) return { ...raced, reused: true };
    throw new AppError('git_host_failed', `GitHub pulls.create says a pull request for ${draft.branch} already exists, but none is open`);
  }

  private async findOpenPullRequest(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<PullRequestRef | undefined> {
    const { data } = await this.call('pulls.list', repo, signal, (octokit) =>
      octokit.rest.pulls.list({ owner: repo.owner, repo: repo.name, head: `${repo.owner}:${branch}`, state: 'open', per_page: 10, request: { signal } }),
    );
    if (!Array.isArray(data)) throw new AppError('git_host_failed', 'GitHub pulls.list returned something other than a list', { retryable: true });
    // The head filter is GitHub's; checking the ref again keeps a lenient server from handing us another branch's PR.
    const pr = data.find((p) => p.head.ref === branch);
    return pr === undefined ? undefined : { url: pr.html_url, number: pr.number, branch };
  }

  /**
   * Runs one Octokit call with the repository's credentials, translating any failure. `recover` sees the raw
   * failure first and may turn it into a result (or throw its own AppError). A 401 (a revoked or expired
   * token) gets one more try if the credentials can offer a fresh one.
   */
  private async call<T>(
    operation: string,
    repo: RepoCoordinates,
    signal: AbortSignal,
    fn: (octokit: Octokit) => Promise<T>,
    recover?: (err: unknown) => Recovered<T>,
  ): Promise<T> {
    throwIfAborted(signal);
    let creds = await this.credentialsFor(operation, repo, signal);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn(creds.octokit);
      } catch (err) {
        if (!signal.aborted) {
          const recovered = recover?.(err);
          if (recovered !== undefined) return recovered.value;
          if (attempt === 1 && asHttpError(err)?.status === 401 && this.credentials.invalidate(repo, creds.token)) {
            this.logger.warn({ owner: repo.owner, repo: repo.name, operation }, 'github refused the credentials, trying fresh ones');
            creds = await this.credentialsFor(operation, repo, signal);
            continue;
          }
        }
        throw this.fail(operation, repo, err, signal, creds.token);
      }
    }
  }

  private async credentialsFor(operation: string, repo: RepoCoordinates, signal: AbortSignal): Promise<RepoCredentials> {
    try {
      return await this.credentials.forRepo(repo, signal);
    } catch (err) {
      throw this.fail(operation, repo, err, signal);
    }
  }

  private fail(operation: string, repo: RepoCoordinates, err: unknown, signal: AbortSignal, token?: string): AppError {
    const error = toGitHostError(err, { operation, signal, secrets: token === undefined ? [] : [token] });
    this.logger.warn(
      { owner: repo.owner, repo: repo.name, operation, code: error.code, retryable: error.retryable, status: asHttpError(err)?.status, error: error.message },
      'github operation failed',
    );
    return error;
  }
}
