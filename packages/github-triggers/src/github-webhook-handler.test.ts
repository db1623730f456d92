import type { GitHubTrigger } from '@tinyb/contracts';
import { silentLogger } from '@tinyb/core';
import { issuesLabeledPayload, signWebhookBody } from '@tinyb/testkit/github-webhook-deliveries';
import { GitHubWebhookHandler } from './github-webhook-handler.js';

const SECRET = 'whsec-unit-test-0123456789';
const rules = { githubUrl: 'https://github.com', label: 'tinyb', command: '/tinyb' };

/** An inbox that remembers delivery ids, as the Redis one does. */
function memoryInbox() {
  const seen = new Set<string>();
  const queued: GitHubTrigger[] = [];
  return {
    queued,
    async enqueueDelivery(trigger: GitHubTrigger) {
      if (seen.has(trigger.deliveryId)) return { created: false };
      seen.add(trigger.deliveryId);
      queued.push(trigger);
      return { created: true };
    },
  };
}

function request(body: string, headers: Record<string, string>) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { header: (name: string) => lower[name.toLowerCase()], rawBody: Buffer.from(body) };
}

const payload = JSON.stringify(
  issuesLabeledPayload({ githubUrl: 'https://github.com', owner: 'acme', repo: 'app', issue: { number: 3, title: 'Do it' }, label: 'tinyb', sender: { login: 'alice' } }),
);
const signed = (body: string, extra: Record<string, string> = {}) =>
  request(body, { 'X-GitHub-Event': 'issues', 'X-GitHub-Delivery': 'delivery-1', 'X-Hub-Signature-256': signWebhookBody(SECRET, body), ...extra });

describe('GitHubWebhookHandler', () => {
  it('queues a signed trigger once; the same delivery again starts nothing', async () => {
    const inbox = memoryInbox();
    const handler = new GitHubWebhookHandler({ secret: SECRET, rules, inbox, logger: silentLogger });
    expect(await handler.handle(signed(payload))).toEqual({ status: 202, body: { status: 'queued' } });
    expect(await handler.handle(signed(payload))).toEqual({ status: 202, body: { status: 'duplicate' } });
    expect(inbox.queued).toHaveLength(1);
    expect(inbox.queued[0]).toMatchObject({ deliveryId: 'delivery-1', source: { kind: 'issue_label', issueNumber: 3 } });
  });

  it.each([
    ['no signature', { 'X-Hub-Signature-256': '' }],
    ['a signature with another secret', { 'X-Hub-Signature-256': signWebhookBody('another-secret', payload) }],
    ['a malformed signature', { 'X-Hub-Signature-256': 'sha256=zz' }],
    ['the old SHA-1 signature only', { 'X-Hub-Signature-256': '', 'X-Hub-Signature': 'sha1=0000' }],
  ])('refuses %s with 401 and queues nothing', async (_name, headers) => {
    const inbox = memoryInbox();
    const handler = new GitHubWebhookHandler({ secret: SECRET, rules, inbox, logger: silentLogger });
    const res = await handler.handle(signed(payload, headers));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(inbox.queued).toEqual([]);
  });

  it('refuses a body changed after signing', async () => {
    const inbox = memoryInbox();
    const handler = new GitHubWebhookHandler({ secret: SECRET, rules, inbox, logger: silentLogger });
    const req = signed(payload);
    const tampered = { ...req, rawBody: Buffer.from(payload.replace('alice', 'mallory')) };
    expect((await handler.handle(tampered)).status).toBe(401);
    expect(inbox.queued).toEqual([]);
  });

  it('answers 202 ignored for an event that is no trigger, and 400 for a signed body that is not JSON', async () => {
    const inbox = memoryInbox();
    const handler = new GitHubWebhookHandler({ secret: SECRET, rules, inbox, logger: silentLogger });
    const ping = JSON.stringify({ zen: 'Design for failure.', hook_id: 1 });
    expect(await handler.handle(signed(ping, { 'X-GitHub-Event': 'ping' }))).toMatchObject({ status: 202, body: { status: 'ignored' } });
    const form = 'payload=%7B%7D';
    expect(await handler.handle(signed(form))).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    expect(inbox.queued).toEqual([]);
  });
});
