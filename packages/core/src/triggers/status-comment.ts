import { SERVICE_COMMENT_MARKER, type JobStatus } from '@tinyb/contracts';

const ERROR_MAX_CHARS = 1_000;

/** Marks the status comment of one job, so a retried trigger finds the comment it already posted. */
export function statusCommentMarker(jobId: string): string {
  return `<!-- tiny-backspace:job:${jobId} -->`;
}

/** Where a status comment links to: the job's status, and its live events when known. */
export interface StatusLinks {
  /** e.g. `https://tinyb.example.com/api/jobs/<id>`; absent when PUBLIC_URL is not configured. */
  status?: string;
}

/** The reply to a request that became a job: it is queued, and where to watch it. */
export function queuedComment(jobId: string, requester: string, links: StatusLinks): string {
  return [
    header(jobId),
    `👀 On it, @${requester}: job \`${jobId}\` is queued.${links.status ? ` [Status](${links.status})` : ''}`,
    '',
    '_This comment is updated when the job ends._',
  ].join('\n');
}

/** The same comment once the job is over: the pull request, or what went wrong. */
export function finishedComment(jobId: string, requester: string, status: JobStatus | null, links: StatusLinks): string {
  const statusLink = links.status ? ` ([status](${links.status}))` : '';
  if (status === null) return [header(jobId), `❔ Job \`${jobId}\` is no longer known (its record expired)${statusLink}.`].join('\n');
  switch (status.state) {
    case 'succeeded': {
      const result = status.result;
      if (result?.pr && result.outcome === 'pr_updated') {
        return `${header(jobId)}\n✅ Done, @${requester}: pushed a commit to ${result.pr.url}${statusLink}.`;
      }
      if (result?.pr) return `${header(jobId)}\n✅ Done, @${requester}: opened ${result.pr.url}${statusLink}.`;
      return `${header(jobId)}\n✅ Done, @${requester}: the agent changed nothing, so there is no pull request${statusLink}.`;
    }
    case 'failed': {
      const error = status.error;
      const detail = error ? `\`${error.code}\`: ${oneLine(error.message).slice(0, ERROR_MAX_CHARS)}` : 'no error was recorded';
      return `${header(jobId)}\n❌ Job \`${jobId}\` failed${statusLink}: ${detail}`;
    }
    case 'cancelled':
      return `${header(jobId)}\n⏹️ Job \`${jobId}\` was cancelled${statusLink}.`;
    case 'queued':
    case 'running':
      return queuedComment(jobId, requester, links);
  }
}

function header(jobId: string): string {
  return `${SERVICE_COMMENT_MARKER}${statusCommentMarker(jobId)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
