import express, { type RequestHandler } from 'express';
import type { GitHubWebhookHandler } from '@tinyb/github-triggers';

/**
 * GitHub caps a delivery at 25 MB, but the events that trigger work (an issue, a comment) are far below this;
 * the body is buffered before its signature can be checked, so an unsigned sender may not make it hold more.
 */
const WEBHOOK_BODY_LIMIT = '1mb';

/**
 * `POST /webhooks/github`: the Express side of GitHubWebhookHandler. The body is kept as raw bytes (any
 * content type), since the signature covers exactly them; the route sits outside the API-key auth, GitHub
 * authenticates by the signature instead.
 */
export function githubWebhookRoute(handler: GitHubWebhookHandler): RequestHandler[] {
  return [
    express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }),
    async (req, res) => {
      const rawBody: unknown = req.body;
      const { status, body } = await handler.handle({
        header: (name) => req.get(name),
        rawBody: Buffer.isBuffer(rawBody) ? rawBody : Buffer.alloc(0),
      });
      res.status(status).json(body);
    },
  ];
}
