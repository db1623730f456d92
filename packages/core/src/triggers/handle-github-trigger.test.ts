import type { CodeJobData, GitHubTrigger, GitHubTriggerFollow, JobStatus } from '@tinyb/contracts';
import { silentLogger } from '../logger.js';
import type { IssueComment, IssueTracker, ReactionTarget, RepoRole } from '../ports/issue-tracker.js';
import { followTriggeredJob } from './follow-triggered-job.js';
import { handleGitHubTrigger, type GitHubTriggerDeps } from './handle-github-trigger.js';

/** An in-memory twin of a forge's conversations, enough to watch what the trigger says and where. */
class MemoryTracker implements IssueTracker {
  roles = new Map<string, RepoRole>();
  reactions: ReactionTarget[] = [];
  comments = new Map<number, IssueComment[]>();
  private nextId = 100;
  async roleOf(_repo: unknown, login: string) {
    return this.roles.get(login) ?? 'none';
  }
  async react(_repo: unknown, target: ReactionTarget) {
    this.reactions.push(target);
  }
  async listComments(_repo: unknown, issue: number) {
    return [...(this.comments.get(issue) ?? [])];
  }
  async createComment(_repo: unknown, issue: number, body: string) {
    const comment = { id: this.nextId++, body, url: `https://github.example/c/${this.nextId}` };
    this.comments.set(issue, [...(this.comments.get(issue) ?? []), comment]);
    return comment;
  }
  async updateComment(_repo: unknown, id: number, body: string) {
    for (const list of this.comments.values()) for (const c of list) if (c.id === id) c.body = body;
  }
}

const trigger = (source: GitHubTrigger['source'], sender = 'alice'): GitHubTrigger => ({
  deliveryId: 'abc-123',
  repo: { owner: 'acme', name: 'app' },
  sender,
  source,
  prompt: 'Fix the crash',
  receivedAt: '2026-01-01T00:00:00.000Z',
});

function setup() {
  const tracker = new MemoryTracker();
  const jobs = new Map<string, CodeJobData>();
  const follows: GitHubTriggerFollow[] = [];
  const deps: GitHubTriggerDeps = {
    tracker,
    submitJob: async (jobId, data) => {
      if (jobs.has(jobId)) return { created: false };
      jobs.set(jobId, data);
      return { created: true };
    },
    follow: async (f) => void follows.push(f),
    settings: { githubUrl: 'https://github.example/', agent: 'claude-code', tenant: 'github', links: (id) => ({ status: `https://tinyb.example/api/jobs/${id}` }) },
    logger: silentLogger,
  };
  return { tracker, jobs, follows, deps };
}
const signal = new AbortController().signal;

describe('handleGitHubTrigger', () => {
  it.each<RepoRole>(['none', 'read', 'triage'])('does nothing at all for a sender whose role is %s', async (role) => {
    const { tracker, jobs, follows, deps } = setup();
    tracker.roles.set('mallory', role);
    const outcome = await handleGitHubTrigger(trigger({ kind: 'issue_label', issueNumber: 4 }, 'mallory'), deps, signal);
    expect(outcome).toEqual({ kind: 'refused', role });
    expect([tracker.reactions, [...jobs.keys()], [...tracker.comments.keys()], follows]).toEqual([[], [], [], []]);
  });

  it('for a labelled issue: 👀 on the issue, a job that fixes it, a status reply, and a follower', async () => {
    const { tracker, jobs, follows, deps } = setup();
    tracker.roles.set('alice', 'maintain');
    const outcome = await handleGitHubTrigger(trigger({ kind: 'issue_label', issueNumber: 4 }), deps, signal);
    expect(outcome).toMatchObject({ kind: 'queued', jobId: 'gh-abc-123', created: true });
    expect(tracker.reactions).toEqual([{ kind: 'issue', number: 4 }]);
    expect(jobs.get('gh-abc-123')).toEqual({
      repo: { owner: 'acme', name: 'app', url: 'https://github.example/acme/app' },
      prompt: 'Fix the crash',
      agent: 'claude-code',
      draft: false,
      requestedAt: '2026-01-01T00:00:00.000Z',
      requestedBy: '@alice',
      tenant: 'github',
      fixesIssue: 4,
    });
    const [reply] = tracker.comments.get(4)!;
    expect(reply!.body).toContain('<!-- tiny-backspace -->');
    expect(reply!.body).toContain('job `gh-abc-123` is queued');
    expect(reply!.body).toContain('(https://tinyb.example/api/jobs/gh-abc-123)');
    expect(follows).toEqual([{ jobId: 'gh-abc-123', repo: { owner: 'acme', name: 'app' }, issueNumber: 4, statusCommentId: reply!.id, requester: 'alice', since: expect.any(String) }]);
  });

  it('for a /tinyb comment on a pull request: 👀 on the comment and a follow-up job on that pull request', async () => {
    const { tracker, jobs, deps } = setup();
    tracker.roles.set('alice', 'write');
    await handleGitHubTrigger(trigger({ kind: 'pull_request_comment', pullNumber: 9, pullUrl: 'https://github.example/acme/app/pull/9', commentId: 77 }), deps, signal);
    expect(tracker.reactions).toEqual([{ kind: 'comment', id: 77 }]);
    expect(jobs.get('gh-abc-123')).toMatchObject({ followUp: { number: 9, url: 'https://github.example/acme/app/pull/9' } });
    expect(jobs.get('gh-abc-123')).not.toHaveProperty('fixesIssue');
    expect(tracker.comments.get(9)).toHaveLength(1);
  });

  it('retried after a failure, starts no second job and posts no second reply', async () => {
    const { tracker, jobs, deps } = setup();
    tracker.roles.set('alice', 'admin');
    const t = trigger({ kind: 'issue_comment', issueNumber: 5, commentId: 8 });
    const first = await handleGitHubTrigger(t, deps, signal);
    const again = await handleGitHubTrigger(t, deps, signal);
    expect(again).toMatchObject({ kind: 'queued', jobId: 'gh-abc-123', created: false });
    expect(again).toMatchObject({ statusCommentId: (first as { statusCommentId: number }).statusCommentId });
    expect(jobs.size).toBe(1);
    expect(tracker.comments.get(5)).toHaveLength(1);
  });
});

describe('followTriggeredJob', () => {
  const status = (over: Partial<JobStatus>): JobStatus => ({
    id: 'gh-1', state: 'running', step: null, attempt: 1, repoUrl: 'https://github.example/acme/app', agent: 'claude-code',
    createdAt: '', startedAt: null, finishedAt: null, cancelRequested: false, result: null, error: null, usage: null, tenant: 'github', traceId: null, ...over,
  });
  const follow: GitHubTriggerFollow = { jobId: 'gh-1', repo: { owner: 'acme', name: 'app' }, issueNumber: 4, statusCommentId: 100, requester: 'alice', since: new Date().toISOString() };

  async function look(current: JobStatus | null, f = follow) {
    const tracker = new MemoryTracker();
    await tracker.createComment(f.repo, 4, 'queued');
    const outcome = await followTriggeredJob(f, { status: { getStatus: async () => current }, tracker, links: () => ({}), recheckMs: 500, maxFollowMs: 60_000, logger: silentLogger }, signal);
    return { outcome, body: tracker.comments.get(4)![0]!.body };
  }

  it('looks again later while the job runs, leaving the comment alone', async () => {
    expect(await look(status({ state: 'running' }))).toEqual({ outcome: { done: false, recheckInMs: 500 }, body: 'queued' });
  });

  it('gives up on a job still running long after following began', async () => {
    expect((await look(status({ state: 'queued' }), { ...follow, since: new Date(Date.now() - 120_000).toISOString() })).outcome).toEqual({ done: true });
  });

  it('edits the comment with the pull request when the job succeeded', async () => {
    const pr = { url: 'https://github.example/acme/app/pull/5', number: 5, branch: 'tinyb/gh-1' };
    const { outcome, body } = await look(status({ state: 'succeeded', result: { outcome: 'pr_opened', pr, filesChanged: [], summary: 's' } }));
    expect(outcome).toEqual({ done: true });
    expect(body).toContain('<!-- tiny-backspace -->');
    expect(body).toContain('opened https://github.example/acme/app/pull/5');
    const updated = await look(status({ state: 'succeeded', result: { outcome: 'pr_updated', pr, filesChanged: [], summary: 's' } }));
    expect(updated.body).toContain('pushed a commit to https://github.example/acme/app/pull/5');
  });

  it('edits the comment with the error when the job failed, and says so when it was cancelled or expired', async () => {
    const failed = await look(status({ state: 'failed', error: { code: 'agent_failed', message: 'the agent\nexited 1' } }));
    expect(failed.body).toContain('failed: `agent_failed`: the agent exited 1');
    expect((await look(status({ state: 'cancelled' }))).body).toContain('was cancelled');
    expect((await look(null)).body).toContain('no longer known');
  });
});
