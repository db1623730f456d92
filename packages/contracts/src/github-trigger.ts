import { z } from 'zod';

/**
 * The BullMQ queue between the API's webhook route and the workers: the API holds no GitHub credential, so
 * it only verifies, deduplicates and enqueues a delivery here; a worker does every GitHub call.
 */
export const GITHUB_TRIGGERS_QUEUE = 'github-triggers';

/** The BullMQ job names of that queue. */
export const GITHUB_TRIGGER_TASK = {
  /** A verified delivery that asks for work: check the sender's access, react, enqueue the code job, reply. */
  delivery: 'delivery',
  /** Waits for a triggered job's end, then edits the status comment with the pull request or the error. */
  follow: 'follow',
} as const;

const positiveInt = z.number().int().positive();
const login = z.string().min(1).max(100);
const repoPart = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/);

/** Where on GitHub the request was made, which is also where the service answers. */
export const GitHubTriggerSource = z.discriminatedUnion('kind', [
  /** The issue got the trigger label: its title and body are the prompt; the PR says `Fixes #N`. */
  z.object({ kind: z.literal('issue_label'), issueNumber: positiveInt }),
  /** `/tinyb <prompt>` on an issue: a new job on the repository; the PR says `Fixes #N`. */
  z.object({ kind: z.literal('issue_comment'), issueNumber: positiveInt, commentId: positiveInt }),
  /** `/tinyb <prompt>` on a pull request: a follow-up on that pull request. */
  z.object({ kind: z.literal('pull_request_comment'), pullNumber: positiveInt, pullUrl: z.string().url(), commentId: positiveInt }),
]);
export type GitHubTriggerSource = z.infer<typeof GitHubTriggerSource>;

/** A verified webhook delivery that asks for work, as the API enqueues it. Its sender's access is not yet checked. */
export const GitHubTrigger = z.object({
  /** X-GitHub-Delivery: unique per delivery, the same on GitHub's redeliveries. */
  deliveryId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
  repo: z.object({ owner: repoPart, name: repoPart }),
  /** Who labelled or commented (GitHub login): the job runs only if they can write to the repository. */
  sender: login,
  source: GitHubTriggerSource,
  prompt: z.string().min(1),
  receivedAt: z.string(),
});
export type GitHubTrigger = z.infer<typeof GitHubTrigger>;

/** A triggered job to follow to its end, and the status comment to edit then. */
export const GitHubTriggerFollow = z.object({
  jobId: z.string().min(1),
  repo: z.object({ owner: repoPart, name: repoPart }),
  /** The issue or pull request the status comment is on. */
  issueNumber: positiveInt,
  statusCommentId: positiveInt,
  /** The GitHub login who asked: the comment addresses them. */
  requester: login,
  /** When following began: a job not over long after (its events expired, say) is given up on. */
  since: z.string(),
});
export type GitHubTriggerFollow = z.infer<typeof GitHubTriggerFollow>;

/**
 * Marks every comment the service writes on GitHub. A comment carrying it is never a request, whoever posted
 * it: in token mode the service comments as a person, who may also be a requester, so the sender alone
 * cannot tell. Also how a retried worker finds the status comment it already posted.
 */
export const SERVICE_COMMENT_MARKER = '<!-- tiny-backspace -->';
