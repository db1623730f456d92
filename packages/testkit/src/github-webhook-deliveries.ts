import { createHmac, randomUUID } from 'node:crypto';

/**
 * GitHub's side of a webhook, for tests: realistic `issues.labeled` and `issue_comment.created` payloads (the
 * fields GitHub sends that matter to a receiver, with the same names and shapes), signed with HMAC-SHA256 as
 * GitHub signs them (`X-Hub-Signature-256: sha256=<hex>`), and POSTed with the headers GitHub sends.
 */

export interface WebhookUserRef {
  login: string;
  /** `User` unless given; GitHub Apps act as `Bot`. */
  type?: 'User' | 'Bot';
}

export interface WebhookIssueRef {
  number: number;
  title: string;
  body?: string | null;
  /** The "issue" is a pull request: GitHub sends comments on pull requests as issue comments with this set. */
  pullRequest?: boolean;
}

interface RepoRef {
  /** The GitHub's base URL (the fake's `url`, or `https://github.com`). */
  githubUrl: string;
  owner: string;
  repo: string;
}

export function issuesLabeledPayload(opts: RepoRef & { issue: WebhookIssueRef; label: string; sender: WebhookUserRef }): Record<string, unknown> {
  return {
    action: 'labeled',
    issue: issueJson(opts, opts.issue),
    label: { id: 208045946, name: opts.label, color: 'f29513', default: false, description: null },
    repository: repositoryJson(opts),
    sender: userJson(opts.sender),
  };
}

export function issueCommentCreatedPayload(
  opts: RepoRef & { issue: WebhookIssueRef; comment: { id: number; body: string }; sender: WebhookUserRef },
): Record<string, unknown> {
  const base = repoHtmlUrl(opts);
  return {
    action: 'created',
    issue: issueJson(opts, opts.issue),
    comment: {
      id: opts.comment.id,
      node_id: `IC_${opts.comment.id}`,
      html_url: `${base}/issues/${opts.issue.number}#issuecomment-${opts.comment.id}`,
      body: opts.comment.body,
      user: userJson(opts.sender),
      author_association: 'CONTRIBUTOR',
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    },
    repository: repositoryJson(opts),
    sender: userJson(opts.sender),
  };
}

/** `sha256=<hex HMAC-SHA256 of the body>`, the X-Hub-Signature-256 header. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface SendWebhookOptions {
  event: string;
  payload: unknown;
  /** Signs the body with it; absent: the delivery carries no signature. */
  secret?: string;
  /** X-GitHub-Delivery; a fresh GUID unless given (give the same one to replay a delivery). */
  deliveryId?: string;
  /** Sent as X-Hub-Signature-256 instead of the computed one. */
  signature?: string;
}

export interface SentWebhook {
  deliveryId: string;
  status: number;
  body: unknown;
  /** How long the receiver took to answer. */
  durationMs: number;
}

/** POSTs one delivery to `url` as GitHub does, and returns what the receiver answered. */
export async function sendWebhookDelivery(url: string, opts: SendWebhookOptions): Promise<SentWebhook> {
  const deliveryId = opts.deliveryId ?? randomUUID();
  const body = JSON.stringify(opts.payload);
  const signature = opts.signature ?? (opts.secret === undefined ? undefined : signWebhookBody(opts.secret, body));
  const startedAt = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/044aadd',
      'x-github-event': opts.event,
      'x-github-delivery': deliveryId,
      'x-github-hook-id': '292430182',
      'x-github-hook-installation-target-type': 'repository',
      ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
    },
    body,
  });
  const text = await res.text();
  const durationMs = performance.now() - startedAt;
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { deliveryId, status: res.status, body: parsed, durationMs };
}

function repoHtmlUrl(ref: RepoRef): string {
  return `${ref.githubUrl.replace(/\/+$/, '')}/${ref.owner}/${ref.repo}`;
}

function repositoryJson(ref: RepoRef): Record<string, unknown> {
  const html = repoHtmlUrl(ref);
  return {
    id: 1296269,
    node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
    name: ref.repo,
    full_name: `${ref.owner}/${ref.repo}`,
    private: false,
    owner: { login: ref.owner, id: 1, type: 'User' },
    html_url: html,
    clone_url: `${html}.git`,
    default_branch: 'main',
  };
}

function issueJson(ref: RepoRef, issue: WebhookIssueRef): Record<string, unknown> {
  const html = repoHtmlUrl(ref);
  const kind = issue.pullRequest ? 'pull' : 'issues';
  return {
    id: 1_000_000 + issue.number,
    node_id: `I_${issue.number}`,
    number: issue.number,
    title: issue.title,
    body: issue.body ?? null,
    state: 'open',
    html_url: `${html}/${kind}/${issue.number}`,
    user: { login: 'someone', id: 2, type: 'User' },
    labels: [],
    author_association: 'CONTRIBUTOR',
    ...(issue.pullRequest
      ? {
          pull_request: {
            url: `${ref.githubUrl}/api/v3/repos/${ref.owner}/${ref.repo}/pulls/${issue.number}`,
            html_url: `${html}/pull/${issue.number}`,
            diff_url: `${html}/pull/${issue.number}.diff`,
            patch_url: `${html}/pull/${issue.number}.patch`,
          },
        }
      : {}),
  };
}

function userJson(user: WebhookUserRef): Record<string, unknown> {
  return { login: user.login, id: hash(user.login), type: user.type ?? 'User' };
}

function hash(text: string): number {
  let h = 7;
  for (const c of text) h = (h * 31 + c.charCodeAt(0)) % 1_000_000_007;
  return h;
}
