import {
  GitHubTrigger,
  IssueCommentWebhookPayload,
  IssuesWebhookPayload,
  MAX_PROMPT_CHARS,
  SERVICE_COMMENT_MARKER,
  type GitHubTriggerSource,
} from '@tinyb/contracts';

/** What decides whether a delivery asks for work. */
export interface TriggerRules {
  /** GITHUB_URL: deliveries about repositories on any other host are ignored. */
  githubUrl: string;
  /** The label that turns an issue into a job (TRIGGER_LABEL, `tinyb` by default); compared case-insensitively, as GitHub does. */
  label: string;
  /** The comment command, `/tinyb` by default: a comment whose first word it is asks for work. */
  command: string;
}

/** One delivery as it arrived: its headers' event name and id, and the parsed JSON body (not yet trusted). */
export interface WebhookDelivery {
  event: string;
  deliveryId: string;
  payload: unknown;
  receivedAt: string;
}

export type TriggerDecision = { kind: 'trigger'; trigger: GitHubTrigger } | { kind: 'ignored'; reason: string };

// The control characters a job's prompt may not carry (tabs, newlines and carriage returns stay).
const DISALLOWED_CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g;

/**
 * Decides what a verified delivery asks for, without any I/O: an issue labelled with the trigger label, or a
 * `/tinyb <prompt>` comment on an issue or a pull request, becomes a trigger; anything else is ignored with a
 * reason (shown in GitHub's delivery log). Whether the sender may ask is not known here: only a worker, which
 * holds GitHub credentials, can check their access.
 */
export function toGitHubTrigger(delivery: WebhookDelivery, rules: TriggerRules): TriggerDecision {
  switch (delivery.event) {
    case 'issues':
      return fromIssues(delivery, rules);
    case 'issue_comment':
      return fromIssueComment(delivery, rules);
    case 'ping':
      return ignored('ping: the webhook is set up');
    default:
      return ignored(`event ${delivery.event} is not a trigger`);
  }
}

function fromIssues(delivery: WebhookDelivery, rules: TriggerRules): TriggerDecision {
  const parsed = IssuesWebhookPayload.safeParse(delivery.payload);
  if (!parsed.success) return ignored('issues payload without the fields a trigger needs');
  const { action, issue, label, repository, sender } = parsed.data;
  if (action !== 'labeled') return ignored(`issues.${action} is not a trigger`);
  if (label === undefined || label.name.toLowerCase() !== rules.label.toLowerCase()) return ignored(`label is not ${rules.label}`);
  const unwanted = unwantedSource(repository.html_url, sender.type, rules);
  if (unwanted !== undefined) return ignored(unwanted);
  const prompt = promptText(`${issue.title}\n\n${issue.body ?? ''}`);
  if (prompt === '') return ignored('the issue has no title or body to work from');
  return triggered(delivery, repository, sender.login, { kind: 'issue_label', issueNumber: issue.number }, prompt);
}

function fromIssueComment(delivery: WebhookDelivery, rules: TriggerRules): TriggerDecision {
  const parsed = IssueCommentWebhookPayload.safeParse(delivery.payload);
  if (!parsed.success) return ignored('issue_comment payload without the fields a trigger needs');
  const { action, issue, comment, repository, sender } = parsed.data;
  if (action !== 'created') return ignored(`issue_comment.${action} is not a trigger`);
  if (comment.body.includes(SERVICE_COMMENT_MARKER)) return ignored('a comment of the service itself');
  const request = commandPrompt(comment.body, rules.command);
  if (request === undefined) return ignored(`the comment does not start with ${rules.command}`);
  const unwanted = unwantedSource(repository.html_url, sender.type, rules);
  if (unwanted !== undefined) return ignored(unwanted);
  if (request === '') return ignored(`${rules.command} without a prompt`);
  const pullUrl = issue.pull_request?.html_url ?? undefined;
  const source: GitHubTriggerSource =
    issue.pull_request === undefined || issue.pull_request === null
      ? { kind: 'issue_comment', issueNumber: issue.number, commentId: comment.id }
      : { kind: 'pull_request_comment', pullNumber: issue.number, pullUrl: pullUrl ?? issue.html_url, commentId: comment.id };
  return triggered(delivery, repository, sender.login, source, request);
}

/**
 * The prompt of a `/tinyb <prompt>` comment: everything after the command (later lines included), or
 * undefined when the comment does not start with the command as a word of its own.
 */
export function commandPrompt(body: string, command: string): string | undefined {
  const text = body.trimStart();
  if (text.slice(0, command.length).toLowerCase() !== command.toLowerCase()) return undefined;
  const rest = text.slice(command.length);
  if (rest !== '' && !/^\s/.test(rest)) return undefined; // `/tinybot` is another command
  return promptText(rest);
}

function unwantedSource(repositoryUrl: string, senderType: string, rules: TriggerRules): string | undefined {
  if (new URL(repositoryUrl).origin !== new URL(rules.githubUrl).origin) return 'a repository on another host than GITHUB_URL';
  if (senderType === 'Bot') return 'sent by a bot';
  return undefined;
}

function promptText(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(DISALLOWED_CONTROLS, '').trim().slice(0, MAX_PROMPT_CHARS).trim();
}

function triggered(
  delivery: WebhookDelivery,
  repository: { name: string; owner: { login: string } },
  sender: string,
  source: GitHubTriggerSource,
  prompt: string,
): TriggerDecision {
  const parsed = GitHubTrigger.safeParse({
    deliveryId: delivery.deliveryId,
    repo: { owner: repository.owner.login, name: repository.name },
    sender,
    source,
    prompt,
    receivedAt: delivery.receivedAt,
  });
  return parsed.success ? { kind: 'trigger', trigger: parsed.data } : ignored('a delivery id or repository name the service cannot use');
}

function ignored(reason: string): TriggerDecision {
  return { kind: 'ignored', reason };
}
