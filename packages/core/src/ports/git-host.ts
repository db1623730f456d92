import type { FileChange, PullRequestRef } from '@tinyb/contracts';

export interface RepoCoordinates {
  owner: string;
  name: string;
}

export interface RepoInfo {
  defaultBranch: string;
  private: boolean;
}

/** One file of a change set, read out of the sandbox. `content` is absent for deletions. */
export interface ChangedFile extends FileChange {
  /** Git file mode: regular, executable or symlink. */
  mode: '100644' | '100755' | '120000';
  content?: Uint8Array;
}

export interface PullRequestDraft {
  branch: string;
  base: string;
  title: string;
  body: string;
  draft: boolean;
}

/** A pull request as a follow-up needs to judge it and to brief the agent. */
export interface PullRequestInfo {
  number: number;
  url: string;
  title: string;
  body: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** `repoFullName` is the repository the head branch lives in (null when a fork was deleted). */
  head: { ref: string; sha: string; repoFullName: string | null };
  base: { ref: string };
}

/** A comment on a pull request: on its conversation, or on a line of its diff (`review`). Text from anyone: untrusted. */
export interface PullRequestComment {
  kind: 'conversation' | 'review';
  author: string;
  body: string;
  createdAt: string;
  /** Review comments: the file and line they are on. */
  path?: string;
  line?: number;
}

/** A commit of a pull request, oldest first in listings. */
export interface PullRequestCommit {
  sha: string;
  message: string;
}

/**
 * The git forge. All credentials stay inside the implementation, in the worker process: nothing it
 * returns or writes to disk carries a token.
 */
/** A checkout archive (tar, `.git` included) held for one reader; see GitHost.openCheckout. */
export interface CheckoutLease {
  readonly sha: string;
  readonly bytes: number;
  /** Whether it came from the cache (for logs and the bench): no download happened. */
  readonly cached: boolean;
  /** The archive from its first byte, in chunks; each call starts again. */
  chunks(): AsyncIterable<Uint8Array>;
  /** Idempotent. The archive may be evicted (or deleted) once every lease on it is released. */
  release(): void;
}

export interface GitHost {
  getRepo(repo: RepoCoordinates, signal: AbortSignal): Promise<RepoInfo>;
  /** The commit a branch points at; AppError `branch_not_found` if there is no such branch. */
  resolveBranch(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<string>;
  /**
   * A shallow clone of `branch` (with its `.git`), made and authenticated in the worker and handed over as
   * a tar archive, so the sandbox never needs a credential. The clone's `.git/config` carries none either.
   */
  downloadCheckout(
    repo: RepoCoordinates,
    branch: string,
    signal: AbortSignal,
  ): Promise<{ sha: string; archive: Uint8Array }>;
  /**
   * The same checkout as a lease on an archive the host keeps on its disk (a cache by repository and commit, or
   * a temporary file): read it in chunks as often as needed until `release()`, so a big repository is never
   * held in memory and a commit checked out before is not downloaded again. Optional: without it, the
   * pipeline uses downloadCheckout.
   */
  openCheckout?(repo: RepoCoordinates, branch: string, signal: AbortSignal): Promise<CheckoutLease>;
  /** Creates a commit of `files` on top of `baseSha` without touching any branch. Returns its sha. */
  createCommit(
    repo: RepoCoordinates,
    input: { baseSha: string; files: ChangedFile[]; message: string },
    signal: AbortSignal,
  ): Promise<string>;
  /** Points `branch` at `sha`, creating it or moving it (a retried job reuses its branch). */
  pushBranch(repo: RepoCoordinates, branch: string, sha: string, signal: AbortSignal): Promise<void>;
  /** A pull request of `repo`; AppError `not_found` if there is none with that number. */
  getPullRequest(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestInfo>;
  /** Conversation and review comments of a pull request, oldest first (at most a few hundred of each). */
  listPullRequestComments(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestComment[]>;
  /** The commits of a pull request, oldest first (GitHub lists at most 250). */
  listPullRequestCommits(repo: RepoCoordinates, number: number, signal: AbortSignal): Promise<PullRequestCommit[]>;
  /** The files a commit changed against its first parent. */
  getCommitFiles(repo: RepoCoordinates, sha: string, signal: AbortSignal): Promise<FileChange[]>;
  /**
   * Moves `branch` from `from` to `to`, fast-forward only, never forced: AppError `pr_branch_moved` if the branch
   * is not at `from` (someone pushed) or `to` does not descend from where it is. A compare-and-swap on the ref.
   */
  advanceBranch(repo: RepoCoordinates, branch: string, move: { from: string; to: string }, signal: AbortSignal): Promise<void>;
  /** Posts a comment on a pull request's conversation; returns its URL. */
  commentOnPullRequest(repo: RepoCoordinates, number: number, body: string, signal: AbortSignal): Promise<{ url: string }>;
  /** Opens a pull request from `draft.branch`, or returns the open one that already exists for it. */
  openPullRequest(
    repo: RepoCoordinates,
    draft: PullRequestDraft,
    signal: AbortSignal,
  ): Promise<PullRequestRef & { reused: boolean }>;
}
