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

/**
 * The git forge. All credentials stay inside the implementation, in the worker process: nothing it
 * returns or writes to disk carries a token.
 */
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
  /** Creates a commit of `files` on top of `baseSha` without touching any branch. Returns its sha. */
  createCommit(
    repo: RepoCoordinates,
    input: { baseSha: string; files: ChangedFile[]; message: string },
    signal: AbortSignal,
  ): Promise<string>;
  /** Points `branch` at `sha`, creating it or moving it (a retried job reuses its branch). */
  pushBranch(repo: RepoCoordinates, branch: string, sha: string, signal: AbortSignal): Promise<void>;
  /** Opens a pull request from `draft.branch`, or returns the open one that already exists for it. */
  openPullRequest(
    repo: RepoCoordinates,
    draft: PullRequestDraft,
    signal: AbortSignal,
  ): Promise<PullRequestRef & { reused: boolean }>;
}
