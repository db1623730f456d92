import { Webhooks } from '@octokit/webhooks';
import type { ErrorCode, GitHubTrigger } from '@tinyb/contracts';
import type { Logger } from '@tinyb/core';
import { toGitHubTrigger, type TriggerRules } from './to-github-trigger.js';

/**
 * Where verified triggers go: a queue that enqueues each delivery at most once (`GitHubTriggerQueue` from
 * @tinyb/queue). `created: false` means this delivery id was seen before and nothing new was started.
 */
export interface GitHubTriggerInbox {
  enqueueDelivery(trigger: GitHubTrigger): Promise<{ created: boolean }>;
}

export interface GitHubWebhookHandlerDeps {
  /** GITHUB_WEBHOOK_SECRET: what GitHub signs each delivery's body with (X-Hub-Signature-256). */
  secret: string;
  rules: TriggerRules;
  inbox: GitHubTriggerInbox;
  logger: Logger;
}

/** A delivery as the web framework received it: the headers and the exact bytes of the body (the signature covers them). */
export interface WebhookRequest {
  header(name: string): string | undefined;
  rawBody: Uint8Array;
}

export type WebhookResponse =
  | { status: 202; body: { status: 'queued' | 'duplicate' | 'ignored'; reason?: string } }
  | { status: 400 | 401; body: { error: { code: ErrorCode; message: string } } };

/**
 * `POST /webhooks/github`, as a plain function of the request so any web framework can mount it: verify the
 * signature, decide what the delivery asks for, and enqueue it once. It answers within milliseconds and never
 * calls GitHub: the sender's access, the reaction and the replies are a worker's job, since only workers hold
 * GitHub credentials. Redis failures are thrown, for the API's error handler to answer 503 (GitHub then shows
 * the delivery as failed, and an operator can redeliver it).
 */
export class GitHubWebhookHandler {
  private readonly webhooks: Webhooks;
  private readonly logger: Logger;

  constructor(private readonly deps: GitHubWebhookHandlerDeps) {
    this.webhooks = new Webhooks({ secret: deps.secret });
    this.logger = deps.logger.child({ component: 'github-webhooks' });
  }

  async handle(req: WebhookRequest): Promise<WebhookResponse> {
    const signature = req.header('x-hub-signature-256');
    if (signature === undefined || signature === '') return refuse(401, 'unauthorized', 'missing X-Hub-Signature-256');
    const body = Buffer.from(req.rawBody).toString('utf8');
    if (!(await this.verify(body, signature))) return refuse(401, 'unauthorized', 'X-Hub-Signature-256 does not match the body');

    const event = req.header('x-github-event');
    const deliveryId = req.header('x-github-delivery');
    if (!event || !deliveryId) return refuse(400, 'invalid_request', 'X-GitHub-Event and X-GitHub-Delivery are required');
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return refuse(400, 'invalid_request', 'the body is not JSON (set the webhook content type to application/json)');
    }

    const decision = toGitHubTrigger({ event, deliveryId, payload, receivedAt: new Date().toISOString() }, this.deps.rules);
    if (decision.kind === 'ignored') {
      this.logger.debug({ event, deliveryId, reason: decision.reason }, 'github delivery ignored');
      return { status: 202, body: { status: 'ignored', reason: decision.reason } };
    }
    const { trigger } = decision;
    const { created } = await this.deps.inbox.enqueueDelivery(trigger);
    this.logger.info(
      { event, deliveryId, repo: `${trigger.repo.owner}/${trigger.repo.name}`, source: trigger.source.kind, sender: trigger.sender, created },
      created ? 'github trigger queued' : 'github delivery already seen',
    );
    return { status: 202, body: { status: created ? 'queued' : 'duplicate' } };
  }

  private async verify(body: string, signature: string): Promise<boolean> {
    try {
      // Constant-time comparison of the HMAC-SHA256 of the body with the secret.
      return await this.webhooks.verify(body, signature);
    } catch {
      return false; // a malformed header
    }
  }
}

function refuse(status: 400 | 401, code: ErrorCode, message: string): WebhookResponse {
  return { status, body: { error: { code, message } } };
}
