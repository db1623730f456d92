import { z } from 'zod';

/**
 * The few fields of GitHub's webhook payloads that the triggers read, parsed where a delivery enters (after its
 * signature is verified). Everything else in a payload is ignored; `.loose()` keeps the schemas from refusing
 * the many fields GitHub sends and adds over time.
 */

const WebhookUser = z.object({
  login: z.string().min(1),
  /** `User`, `Bot` or `Organization`: bots (the service's own app among them) never trigger anything. */
  type: z.string(),
}).loose();

const WebhookRepository = z.object({
  name: z.string().min(1),
  owner: z.object({ login: z.string().min(1) }).loose(),
  /** Its page on the GitHub that sent it: deliveries from any other host than GITHUB_URL are ignored. */
  html_url: z.string().url(),
}).loose();

const WebhookIssue = z.object({
  number: z.number().int().positive(),
  title: z.string(),
  body: z.string().nullable().optional(),
  html_url: z.string().url(),
  /** Present when the "issue" is a pull request (comments on PRs arrive as issue comments). */
  pull_request: z.object({ html_url: z.string().url().nullable().optional() }).loose().nullable().optional(),
}).loose();

/** `issues` events; the triggers act on `labeled`. */
export const IssuesWebhookPayload = z.object({
  action: z.string(),
  issue: WebhookIssue,
  label: z.object({ name: z.string() }).loose().optional(),
  repository: WebhookRepository,
  sender: WebhookUser,
}).loose();
export type IssuesWebhookPayload = z.infer<typeof IssuesWebhookPayload>;

/** `issue_comment` events (on issues and pull requests alike); the triggers act on `created`. */
export const IssueCommentWebhookPayload = z.object({
  action: z.string(),
  issue: WebhookIssue,
  comment: z.object({ id: z.number().int().positive(), body: z.string(), user: WebhookUser }).loose(),
  repository: WebhookRepository,
  sender: WebhookUser,
}).loose();
export type IssueCommentWebhookPayload = z.infer<typeof IssueCommentWebhookPayload>;
