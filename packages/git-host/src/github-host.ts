import type { Octokit } from '@octokit/rest';
import type { PullRequestRef } from '@tinyb/contracts';
import {
  AppError,
  throwIfAborted,
  type ChangedFile,
  type GitHost,
  type Logger,
  type PullRequestDraft,
  type RepoCoordinates,
  type RepoInfo,
} from '@tinyb/core';
import { downloadCheckout } from './download-checkout.js';
import { asHttpError, isAlreadyExists, toGitHostError } from './github-error.js';

export interface GitHubHostOptions {
  /** Built by `createGitHubOctokit` (retry + throttling); any Octokit with the REST methods works. */
  octokit: Octokit;
  /** Where repositories are cloned from: `https://github.com`, or the GitHub Enterprise / fake host. */
  gitUrl: string;
  /** Used only for the clone; the REST calls authenticate through the Octokit. */
  token: string;
  logger: Logger;
}

type TreeEntry = { path: string; mode: ChangedFile['mode']; type: 'blob'; sha: string | null };

/**
 * GitHost over GitHub's REST API ("Plan A"): changes go up as blobs, a tree and a commit through the Git
 * Data API, so the sandbox that produced them never holds a credential. Every call honours the job's
 * AbortSignal; every failure leaves as an AppError without the token or the Octokit request attached.
 */
export class GitHubHost implements GitHost {
  private readonly octokit: Octokit;
  private readonly gitUrl: string;
  private readonly token: string;
  private readonly logger: Logger;

  constructor(opts: GitHubHostOptions) {
    this.octokit = opts.octokit;
    this.gitUrl = opts.gitUrl;
    this.token = opts.token;
    this.logger = opts.logger.child({ component: 'github-host' });
  }

  async getRepo(repo: RepoCoordinates, signal: AbortSignal): Promise<RepoInfo> {
    const { data } = await this.call('repos.get', repo, signal, () =>
      this.octokit.rest.repos.get({ owner: repo.owner, repo: repo.name, request: { signal } }),
    );
    return { defaultBranch: data.default_branch, private: data.private };
  }

  async resolveBranch(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<string> {
    try {
      const { data } = await this.octokit.rest.git.getRef({ owner: repo.owner, repo: repo.name, ref: `heads/${branch}`, request: { signal } });
      return data.object.sha;
    } catch (err) {
      if (!signal.aborted && asHttpError(err)?.status === 404) {
        throw new AppError('branch_not_found', `branch ${branch} does not exist in ${repo.owner}/${repo.name}`);
      }
      throw this.fail('git.getRef', repo, err, signal);
    }
  }

  async downloadCheckout(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<{ sha: string; archive: Uint8Array }> {
    const startedAt = Date.now();
    try {
      const result = await downloadCheckout({ gitUrl: this.gitUrl, token: this.token, repo, branch, signal });
      this.logger.debug({ owner: repo.owner, repo: repo.name, sha: result.sha, archiveBytes: result.archive.byteLength, durationMs: Date.now() - startedAt }, 'checkout downloaded');
      return result;
    } catch (err) {
      throw this.fail('git clone', repo, err, signal);
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
      const { data } = await this.call('git.createBlob', repo, signal, () =>
        this.octokit.rest.git.createBlob({ owner, repo: name, content, encoding: 'base64', request: { signal } }),
      );
      tree.push({ path: file.path, mode: file.mode, type: 'blob', sha: data.sha });
    }
    const base = await this.call('git.getCommit', repo, signal, () =>
      this.octokit.rest.git.getCommit({ owner, repo: name, commit_sha: input.baseSha, request: { signal } }),
    );
    const newTree = await this.call('git.createTree', repo, signal, () =>
      this.octokit.rest.git.createTree({ owner, repo: name, base_tree: base.data.tree.sha, tree, request: { signal } }),
    );
    const commit = await this.call('git.createCommit', repo, signal, () =>
      this.octokit.rest.git.createCommit({ owner, repo: name, message: input.message, tree: newTree.data.sha, parents: [input.baseSha], request: { signal } }),
    );
    this.logger.info({ owner, repo: name, sha: commit.data.sha, files: input.files.length }, 'commit created');
    return commit.data.sha;
  }

  async pushBranch(repo: RepoCoordinates, branch: string, sha: string, signal: AbortSignal): Promise<void> {
    try {
      await this.octokit.rest.git.createRef({ owner: repo.owner, repo: repo.name, ref: `refs/heads/${branch}`, sha, request: { signal } });
      this.logger.info({ owner: repo.owner, repo: repo.name, branch, sha }, 'branch created');
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw this.fail('git.createRef', repo, err, signal);
    }
    // A retried job reuses its branch: the new commit replaces whatever an earlier attempt left there.
    await this.call('git.updateRef', repo, signal, () =>
      this.octokit.rest.git.updateRef({ owner: repo.owner, repo: repo.name, ref: `heads/${branch}`, sha, force: true, request: { signal } }),
    );
    this.logger.info({ owner: repo.owner, repo: repo.name, branch, sha }, 'branch moved');
  }

  async openPullRequest(
    repo: RepoCoordinates,
    draft: PullRequestDraft,
    signal: AbortSignal,
  ): Promise<PullRequestRef & { reused: boolean }> {
    const existing = await this.findOpenPullRequest(repo, draft.branch, signal);
    if (existing !== undefined) return { ...existing, reused: true };
    try {
      const { data } = await this.octokit.rest.pulls.create({
        owner: repo.owner,
        repo: repo.name,
        title: draft.title,
        body: draft.body,
        head: draft.branch,
        base: draft.base,
        draft: draft.draft,
        request: { signal },
      });
      this.logger.info({ owner: repo.owner, repo: repo.name, number: data.number, branch: draft.branch }, 'pull request opened');
      return { url: data.html_url, number: data.number, branch: draft.branch, reused: false };
    } catch (err) {
      // Someone (an earlier attempt of this job, still running) opened it between our list and create.
      if (isAlreadyExists(err)) {
        const raced = await this.findOpenPullRequest(repo, draft.branch, signal);
        if (raced !== undefined) return { ...raced, reused: true };
      }
      throw this.fail('pulls.create', repo, err, signal);
    }
  }

  private async findOpenPullRequest(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<PullRequestRef | undefined> {
    const { data } = await this.call('pulls.list', repo, signal, () =>
      this.octokit.rest.pulls.list({ owner: repo.owner, repo: repo.name, head: `${repo.owner}:${branch}`, state: 'open', per_page: 10, request: { signal } }),
    );
    if (!Array.isArray(data)) throw new AppError('git_host_failed', 'GitHub pulls.list returned something other than a list', { retryable: true });
    // The head filter is GitHub's; checking the ref again keeps a lenient server from handing us another branch's PR.
    const pr = data.find((p) => p.head.ref === branch);
    return pr === undefined ? undefined : { url: pr.html_url, number: pr.number, branch };
  }

  /** Runs one Octokit call, translating any failure. */
  private async call<T>(operation: string, repo: RepoCoordinates, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    try {
      return await fn();
    } catch (err) {
      throw this.fail(operation, repo, err, signal);
    }
  }

  private fail(operation: string, repo: RepoCoordinates, err: unknown, signal: AbortSignal): AppError {
    const error = toGitHostError(err, { operation, signal, secrets: [this.token] });
    this.logger.warn(
      { owner: repo.owner, repo: repo.name, operation, code: error.code, retryable: error.retryable, status: asHttpError(err)?.status, error: error.message },
      'github operation failed',
    );
    return error;
  }
}
