import type { GitHubTrigger, GitHubTriggerFollow } from '@tinyb/contracts';
import { RedisFixture, testRedisUrl } from '@tinyb/testkit/redis';
import { GitHubTriggerQueue } from './github-trigger-queue.js';
import { GitHubTriggerWorker } from './github-trigger-worker.js';
import { redisConnectionOptions } from './redis-connection-options.js';

const trigger = (deliveryId: string): GitHubTrigger => ({
  deliveryId,
  repo: { owner: 'acme', name: 'app' },
  sender: 'alice',
  source: { kind: 'issue_label', issueNumber: 4 },
  prompt: 'Fix it',
  receivedAt: new Date().toISOString(),
});

describe('GitHubTriggerQueue and GitHubTriggerWorker (real Redis)', () => {
  let fixture: RedisFixture;
  let queue: GitHubTriggerQueue;
  let worker: GitHubTriggerWorker | undefined;

  beforeEach(() => {
    fixture = new RedisFixture('gh-triggers');
    queue = new GitHubTriggerQueue({ redis: fixture.connect(), prefix: fixture.prefix, backoffDelayMs: 10 });
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await queue.close();
    await fixture.cleanup();
  });

  it('queues a delivery once per delivery id, and the worker gets it parsed', async () => {
    expect(await queue.enqueueDelivery(trigger('d-1'))).toEqual({ created: true });
    expect(await queue.enqueueDelivery(trigger('d-1'))).toEqual({ created: false });
    expect(await queue.enqueueDelivery(trigger('d-2'))).toEqual({ created: true });
    expect(await queue.queue.getJobCounts('waiting')).toEqual({ waiting: 2 });

    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      worker = new GitHubTriggerWorker(
        {
          delivery: async (t) => {
            seen.push(t.deliveryId);
            if (seen.length === 2) resolve();
          },
          follow: async () => ({ done: true }),
        },
        { connection: redisConnectionOptions(testRedisUrl()), prefix: fixture.prefix },
      );
    });
    await done;
    expect(seen.sort()).toEqual(['d-1', 'd-2']);
  });

  it('a follower that finds its job running looks again later without using attempts, until it is done', async () => {
    const follow: GitHubTriggerFollow = { jobId: 'job-1', repo: { owner: 'acme', name: 'app' }, issueNumber: 4, statusCommentId: 9, requester: 'alice', since: new Date().toISOString() };
    await queue.follow(follow, 0);
    await queue.follow(follow, 0); // a retried delivery task adds no second follower
    const looks: number[] = [];
    const done = new Promise<void>((resolve) => {
      worker = new GitHubTriggerWorker(
        {
          delivery: async () => undefined,
          follow: async (f) => {
            expect(f).toEqual(follow);
            looks.push(Date.now());
            if (looks.length < 15) return { done: false, recheckInMs: 20 };
            resolve();
            return { done: true };
          },
        },
        { connection: redisConnectionOptions(testRedisUrl()), prefix: fixture.prefix },
      );
    });
    await done;
    // More looks than the task's attempts: waiting did not count as failing.
    expect(looks).toHaveLength(15);
    await new Promise((r) => setTimeout(r, 100));
    expect(await queue.queue.getJobCounts('completed', 'failed', 'delayed')).toEqual({ completed: 1, failed: 0, delayed: 0 });
  });
});
