import type { Octokit } from '@octokit/rest';
import { AppError, throwIfAborted, type IssueComment, type IssueTracker, type Logger, type ReactionTarget, type RepoCoordinates, type RepoRole } from '@tinyb/core';
import type { GitHubCredentials, RepoCredentials } from './github-credentials.js';
import { asHttpError, toGitHostError } from './github-error.js';

const ROLES: ReadonlySet<string> = new Set(['admin', 'maintain', 'write', 'triage', 'read', 'none']);
/** More comments than a conversation where the service was just asked to work is likely to hold before its reply. */
const COMMENTS_PER_PAGE = 100;
const MAX_COMMENT_PAGES = 3;

export interface GitHubIssueTrackerOptions {
  /**
   * A personal token, or GitHubAppCredentials minting installation tokens with `issues: write` and
   * `pull_requests: write` (comments and reactions on issues and pull requests); metadata:read, which every
   * installation token has, covers the collaborator permission route.
   */
  credentials: GitHubCredentials;
  logger: Logger;
}

/**
 * IssueTracker over GitHub's REST API: the collaborator permission route (`role_name`, so a custom or
 * `maintain` role is told from `write`), reactions, and issue comments (the conversation of issues and pull
 * requests alike). Failures are AppErrors from the one translation (toGitHostError); a refused token is
 * retried once with fresh credentials, as GitHubHost does.
 */
export class GitHubIssueTracker implements IssueTracker {
  private readonly credentials: GitHubCredentials;
  private readonly logger: Logger;

  constructor(opts: GitHubIssueTrackerOptions) {
    this.credentials = opts.credentials;
    this.logger = opts.logger.child({ component: 'github-issue-tracker' });
  }

  async roleOf(repo: RepoCoordinates, login: string, signal: AbortSignal): Promise<RepoRole> {
    const data = await this.call('repos.getCollaboratorPermissionLevel', repo, signal, async (octokit) => {
      try {
        return (await octokit.rest.repos.getCollaboratorPermissionLevel({ owner: repo.owner, repo: repo.name, username: login, request: { signal } })).data;
      } catch (err) {
        // GitHub answers 404 for a login that is no user (renamed, deleted): such a sender has no role at all.
        if (asHttpError(err)?.status === 404 && !signal.aborted) return { permission: 'none', role_name: 'none' };
        throw err;
      }
    });
    // `role_name` says maintain and triage apart from write and read; custom roles fall back to `permission`.
    const role = ROLES.has(data.role_name) ? data.role_name : data.permission;
    return ROLES.has(role) ? (role as RepoRole) : 'none';
  }

  async react(repo: RepoCoordinates, target: ReactionTarget, content: 'eyes', signal: AbortSignal): Promise<void> {
    await this.call('reactions.create', repo, signal, (octokit) =>
      target.kind === 'issue'
        ? octokit.rest.reactions.createForIssue({ owner: repo.owner, repo: repo.name, issue_number: target.number, content, request: { signal } })
        : octokit.rest.reactions.createForIssueComment({ owner: repo.owner, repo: repo.name, comment_id: target.id, content, request: { signal } }),
    );
  }

  async listComments(repo: RepoCoordinates, issueNumber: number, signal: AbortSignal): Promise<IssueComment[]> {
    const comments: IssueComment[] = [];
    for (let page = 1; page <= MAX_COMMENT_PAGES; page += 1) {
      const { data } = await this.call('issues.listComments', repo, signal, (octokit) =>
        octokit.rest.issues.listComments({ owner: repo.owner, repo: repo.name, issue_number: issueNumber, per_page: COMMENTS_PER_PAGE, page, request: { signal } }),
      );
      if (!Array.isArray(data)) throw new AppError('git_host_failed', 'GitHub issues.listComments returned something other than a list', { retryable: true });
      comments.push(...data.map((c) => ({ id: c.id, body: c.body ?? '', url: c.html_url })));
      if (data.length < COMMENTS_PER_PAGE) break;
    }
    return comments;
  }

  async createComment(repo: RepoCoordinates, issueNumber: number, body: string, signal: AbortSignal): Promise<IssueComment> {
    const { data } = await this.call('issues.createComment', repo, signal, (octokit) =>
      octokit.rest.issues.createComment({ owner: repo.owner, repo: repo.name, issue_number: issueNumber, body, request: { signal } }),
    );
    return { id: data.id, body: data.body ?? body, url: data.html_url };
  }

  async updateComment(repo: RepoCoordinates, commentId: number, body: string, signal: AbortSignal): Promise<void> {
    await this.call('issues.updateComment', repo, signal, (octokit) =>
      octokit.rest.issues.updateComment({ owner: repo.owner, repo: repo.name, comment_id: commentId, body, request: { signal } }),
    );
  }

  private async call<T>(operation: string, repo: RepoCoordinates, signal: AbortSignal, fn: (octokit: Octokit) => Promise<T>): Promise<T> {
    throwIfAborted(signal);
    let creds: RepoCredentials | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        creds = await this.credentials.forRepo(repo, signal);
        return await fn(creds.octokit);
      } catch (err) {
        const refused = !signal.aborted && asHttpError(err)?.status === 401;
        if (attempt === 1 && refused && creds !== undefined && this.credentials.invalidate(repo, creds.token)) continue;
        const error = toGitHostError(err, { operation, signal, secrets: creds === undefined ? [] : [creds.token] });
        this.logger.warn({ owner: repo.owner, repo: repo.name, operation, code: error.code, retryable: error.retryable, error: error.message }, 'github operation failed');
        throw error;
      }
    }
  }
}
