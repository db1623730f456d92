import type { RepoCoordinates } from './git-host.js';

/** A user's role on a repository, as the forge reports it. */
export type RepoRole = 'admin' | 'maintain' | 'write' | 'triage' | 'read' | 'none';

/** Where a reaction goes: an issue or pull request itself, or one of their comments. */
export type ReactionTarget = { kind: 'issue'; number: number } | { kind: 'comment'; id: number };

export interface IssueComment {
  id: number;
  body: string;
  url: string;
}

/**
 * The conversation side of a forge, for triggers: who may ask for work on a repository, and answering where
 * they asked. Pull requests count as issues here (their conversation comments are issue comments, as on
 * GitHub). Every failure is an AppError (`retryable` for outages); nothing here touches code or branches.
 */
export interface IssueTracker {
  /** `login`'s role on the repository (`none` for a stranger); never guessed from how they appear elsewhere. */
  roleOf(repo: RepoCoordinates, login: string, signal: AbortSignal): Promise<RepoRole>;
  /** Adds the service's reaction; reacting twice the same way is harmless. */
  react(repo: RepoCoordinates, target: ReactionTarget, content: 'eyes', signal: AbortSignal): Promise<void>;
  /** The conversation comments of an issue or pull request, oldest first (at most the first few hundred). */
  listComments(repo: RepoCoordinates, issueNumber: number, signal: AbortSignal): Promise<IssueComment[]>;
  createComment(repo: RepoCoordinates, issueNumber: number, body: string, signal: AbortSignal): Promise<IssueComment>;
  updateComment(repo: RepoCoordinates, commentId: number, body: string, signal: AbortSignal): Promise<void>;
}
