import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { silentLogger } from '@tinyb/core';
import { RedisJobEvents } from '@tinyb/events';
import { GitHubWebhookHandler } from '@tinyb/github-triggers';
import { CodeJobQueue, GitHubTriggerQueue, WorkerRegistry } from '@tinyb/queue';
import { issueCommentCreatedPayload, issuesLabeledPayload, sendWebhookDelivery, signWebhookBody } from '@tinyb/testkit/github-webhook-deliveries';
import { RedisFixture } from '@tinyb/testkit/redis';
import { createApp, type ApiConfig } from './create-app.js';

const SECRET = 'whsec-api-int-test-0123456789abcdef';
const GITHUB_URL = 'https://github.com';
const config: ApiConfig = { name: 'tiny-backspace', version: '0.0.0-test', githubUrl: GITHUB_URL, defaultAgent: 'claude-code', sseHeartbeatMs: 50, apiToken: 'admin-token-0123456789abcdef' };
const labeled = issuesLabeledPayload({
  githubUrl: GITHUB_URL,
  owner: 'acme',
  repo: 'app',
  issue: { number: 5, title: 'Add a README', body: 'With install steps.' },
  label: 'tinyb',
  sender: { login: 'alice' },
});

describe('POST /webhooks/github against a real Redis', () => {
  let fixture: RedisFixture;
  let queue: CodeJobQueue;
  let triggers: GitHubTriggerQueue;
  let events: RedisJobEvents;
  let server: Server;
  let url: string;
  let redis: ReturnType<RedisFixture['connect']>;

  const start = async (withSecret: boolean) => {
    fixture = new RedisFixture('api-webhooks');
    redis = fixture.connect();
    queue = new CodeJobQueue({ redis, prefix: fixture.prefix });
    triggers = new GitHubTriggerQueue({ redis, prefix: fixture.prefix });
    events = new RedisJobEvents({ redis, keyPrefix: fixture.prefix, subscriber: () => fixture.track(redis.duplicate()) });
    const githubWebhooks = new GitHubWebhookHandler({ secret: SECRET, rules: { githubUrl: GITHUB_URL, label: 'tinyb', command: '/tinyb' }, inbox: triggers, logger: silentLogger });
    const app = createApp({
      config,
      queue,
      events,
      agents: new WorkerRegistry({ redis, prefix: fixture.prefix }),
      logger: silentLogger,
      ...(withSecret ? { githubWebhooks } : {}),
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/github`;
  };

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await events.close();
    await triggers.close();
    await queue.close();
    await fixture.cleanup();
  });

  const queuedTriggers = async () => (await triggers.queue.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).map((j) => j.data as { deliveryId: string });

  describe('with GITHUB_WEBHOOK_SECRET', () => {
    beforeEach(() => start(true));

    it('answers a signed trigger 202 within milliseconds, without an API key, and queues it for the workers', async () => {
      // A first delivery warms the process up (module loading, BullMQ's first script loads), as any earlier one would.
      await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
      const sent = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
      expect(sent.status).toBe(202);
      expect(sent.body).toEqual({ status: 'queued' });
      expect(sent.durationMs).toBeLessThan(250);
      const queued = await triggers.queue.getJob(`delivery-${sent.deliveryId}`);
      expect(queued?.data).toMatchObject({
        deliveryId: sent.deliveryId,
        repo: { owner: 'acme', name: 'app' },
        sender: 'alice',
        source: { kind: 'issue_label', issueNumber: 5 },
        prompt: 'Add a README\n\nWith install steps.',
      });
      // No code job yet: only a worker, after checking alice's access, may start one.
      expect(Object.values(await queue.getJobCounts('waiting', 'active')).reduce((a, b) => a + b, 0)).toBe(0);
    });

    it('refuses a missing or wrong signature with 401 and queues nothing', async () => {
      const unsigned = await sendWebhookDelivery(url, { event: 'issues', payload: labeled });
      expect(unsigned.status).toBe(401);
      expect(unsigned.body).toMatchObject({ error: { code: 'unauthorized' } });
      const wrong = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: 'not-the-secret-0123456789' });
      expect(wrong.status).toBe(401);
      // Signed over other bytes than those sent (a proxy that re-serialised the JSON, say).
      const reformatted = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, signature: signWebhookBody(SECRET, JSON.stringify(labeled, null, 2)) });
      expect(reformatted.status).toBe(401);
      expect(await queuedTriggers()).toEqual([]);
    });

    it('starts nothing new for a replayed delivery, even one sent while the first is being answered', async () => {
      const first = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
      const replays = await Promise.all(
        Array.from({ length: 5 }, () => sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET, deliveryId: first.deliveryId })),
      );
      expect(replays.map((r) => [r.status, r.body])).toEqual(Array.from({ length: 5 }, () => [202, { status: 'duplicate' }]));
      expect((await queuedTriggers()).map((t) => t.deliveryId)).toEqual([first.deliveryId]);
      // Another delivery of the same event (a new id) is a new request.
      const again = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
      expect(again.body).toEqual({ status: 'queued' });
      expect(await queuedTriggers()).toHaveLength(2);
    });

    it('accepts and ignores events that are not triggers', async () => {
      const ping = await sendWebhookDelivery(url, { event: 'ping', payload: { zen: 'Approachable is better than simple.', hook_id: 1 }, secret: SECRET });
      expect(ping.status).toBe(202);
      expect(ping.body).toMatchObject({ status: 'ignored' });
      const push = await sendWebhookDelivery(url, { event: 'push', payload: { ref: 'refs/heads/main' }, secret: SECRET });
      expect(push.body).toMatchObject({ status: 'ignored', reason: 'event push is not a trigger' });
      const chatter = issueCommentCreatedPayload({ githubUrl: GITHUB_URL, owner: 'acme', repo: 'app', issue: { number: 5, title: 'x' }, comment: { id: 1, body: 'thanks!' }, sender: { login: 'bob' } });
      expect((await sendWebhookDelivery(url, { event: 'issue_comment', payload: chatter, secret: SECRET })).body).toMatchObject({ status: 'ignored' });
      expect(await queuedTriggers()).toEqual([]);
    });

    it('answers 503 when Redis is away, so GitHub records the delivery as failed', async () => {
      redis.disconnect();
      const sent = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
      expect(sent.status).toBe(503);
    });
  });

  it('does not exist without GITHUB_WEBHOOK_SECRET (404)', async () => {
    await start(false);
    const sent = await sendWebhookDelivery(url, { event: 'issues', payload: labeled, secret: SECRET });
    expect(sent.status).toBe(404);
  });
});
