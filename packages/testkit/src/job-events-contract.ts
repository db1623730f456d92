import { randomUUID } from 'node:crypto';
import type { NewJobEvent } from '@tinyb/contracts';
import type { ActiveJobSlots, JobDirectory, JobEventPublisher, JobEventSubscriber, JobStatusReader, StoredJobEvent } from '@tinyb/core';

export type JobEventsUnderTest = JobEventPublisher & JobEventSubscriber & JobStatusReader;

export interface JobEventsSubject {
  events: JobEventsUnderTest;
  /** Lists and counts the jobs `events` records (for Redis: a RedisJobDirectory on the same prefix). */
  directory: JobDirectory & ActiveJobSlots;
  /** Closes whatever the subject opened (called in afterEach). */
  close(): Promise<void>;
}

const queued: Extract<NewJobEvent, { type: 'job.queued' }> = { type: 'job.queued', repoUrl: 'https://github.example/o/r', agent: 'claude-code', draft: false };
const message = (text: string): NewJobEvent => ({ type: 'agent.message', text });
const succeeded: NewJobEvent = {
  type: 'job.succeeded',
  result: { outcome: 'no_changes', filesChanged: [], summary: 'nothing to do' },
};

/** Reads a subscription to its end (terminal event or abort). */
async function collect(iterable: AsyncIterable<StoredJobEvent>, onEach?: (e: StoredJobEvent) => void): Promise<StoredJobEvent[]> {
  const out: StoredJobEvent[] = [];
  for await (const e of iterable) {
    out.push(e);
    onEach?.(e);
  }
  return out;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/**
 * The behaviour every JobEventPublisher/Subscriber/StatusReader must have, the in-memory twin included.
 * `makeSubject` is called before each test; every test uses fresh job ids.
 */
export function jobEventsContract(name: string, makeSubject: () => Promise<JobEventsSubject> | JobEventsSubject): void {
  describe(`${name} (JobEvents contract)`, () => {
    let subject: JobEventsSubject;
    let events: JobEventsUnderTest;
    let directory: JobDirectory & ActiveJobSlots;
    // Every test's subscriptions end on their own; this bounds a broken implementation instead of hanging jest.
    let guard: AbortController;

    beforeEach(async () => {
      subject = await makeSubject();
      events = subject.events;
      directory = subject.directory;
      guard = new AbortController();
    });
    afterEach(async () => {
      guard.abort();
      await subject.close();
    });

    const newJobId = (): string => randomUUID();

    it('stamps jobId and at, returns increasing ids, and replays the whole history', async () => {
      const jobId = newJobId();
      const before = Date.now();
      const ids = [await events.publish(jobId, queued), await events.publish(jobId, message('hi')), await events.publish(jobId, succeeded)];
      const got = await collect(events.subscribe(jobId, { signal: guard.signal }));
      expect(got.map((e) => e.id)).toEqual(ids);
      expect(got.map((e) => e.event.type)).toEqual(['job.queued', 'agent.message', 'job.succeeded']);
      for (const { event } of got) {
        expect(event.jobId).toBe(jobId);
        expect(Date.parse(event.at)).toBeGreaterThanOrEqual(before - 1000);
      }
      expect(new Set(ids).size).toBe(3);
      expect(ids[0]).toMatch(/^\d+-\d+$/);
    });

    it('replays exactly the events after afterId', async () => {
      const jobId = newJobId();
      const ids: string[] = [];
      ids.push(await events.publish(jobId, queued));
      for (let i = 0; i < 5; i++) ids.push(await events.publish(jobId, message(`m${i}`)));
      ids.push(await events.publish(jobId, succeeded));
      const got = await collect(events.subscribe(jobId, { afterId: ids[2], signal: guard.signal }));
      expect(got.map((e) => e.id)).toEqual(ids.slice(3));
    });

    it('delivers live events published after subscribing, and ends after the terminal event', async () => {
      const jobId = newJobId();
      await events.publish(jobId, queued);
      const seen: StoredJobEvent[] = [];
      const reading = collect(events.subscribe(jobId, { signal: guard.signal }), (e) => seen.push(e));
      await waitFor(() => seen.length === 1);
      await events.publish(jobId, message('live'));
      await waitFor(() => seen.length === 2);
      await events.publish(jobId, succeeded);
      await events.publish(jobId, message('after the end'));
      const got = await reading;
      expect(got.map((e) => e.event.type)).toEqual(['job.queued', 'agent.message', 'job.succeeded']);
    });

    it('stops at a terminal event in the history, ignoring anything stored after it', async () => {
      const jobId = newJobId();
      await events.publish(jobId, queued);
      await events.publish(jobId, { type: 'job.failed', error: { code: 'agent_failed', message: 'boom' } });
      await events.publish(jobId, message('stray'));
      const got = await collect(events.subscribe(jobId, { signal: guard.signal }));
      expect(got.map((e) => e.event.type)).toEqual(['job.queued', 'job.failed']);
    });

    it('delivers every event exactly once and in order to followers joining while events are published', async () => {
      const jobId = newJobId();
      const total = 120;
      const published: string[] = [];
      const fromStart = collect(events.subscribe(jobId, { signal: guard.signal }));
      const publishing = (async () => {
        published.push(await events.publish(jobId, queued));
        for (let i = 0; i < total; i++) {
          published.push(await events.publish(jobId, message(`m${i}`)));
          if (i % 7 === 0) await tick();
        }
        published.push(await events.publish(jobId, succeeded));
      })();
      const late: Array<{ after: string | undefined; reading: Promise<StoredJobEvent[]> }> = [];
      for (const k of [3, 30, 60, 100]) {
        await waitFor(() => published.length > k);
        const after = published[k];
        late.push({ after, reading: collect(events.subscribe(jobId, { afterId: after, signal: guard.signal })) });
        // and one joining mid-stream without afterId: the whole history, then live
        late.push({ after: undefined, reading: collect(events.subscribe(jobId, { signal: guard.signal })) });
      }
      await publishing;
      expect(published).toHaveLength(total + 2);
      expect((await fromStart).map((e) => e.id)).toEqual(published);
      for (const { after, reading } of late) {
        const expected = after === undefined ? published : published.slice(published.indexOf(after) + 1);
        expect((await reading).map((e) => e.id)).toEqual(expected);
      }
      const texts = (await fromStart).flatMap((e) => (e.event.type === 'agent.message' ? [e.event.text] : []));
      expect(texts).toEqual(Array.from({ length: total }, (_, i) => `m${i}`));
    });

    it('keeps the events of different jobs apart', async () => {
      const a = newJobId();
      const b = newJobId();
      await events.publish(a, queued);
      await events.publish(b, queued);
      await events.publish(b, message('for b'));
      await events.publish(a, succeeded);
      await events.publish(b, succeeded);
      const gotA = await collect(events.subscribe(a, { signal: guard.signal }));
      expect(gotA.map((e) => e.event.type)).toEqual(['job.queued', 'job.succeeded']);
      expect(gotA.every((e) => e.event.jobId === a)).toBe(true);
    });

    it('returns cleanly when the signal aborts while waiting for events', async () => {
      const jobId = newJobId();
      await events.publish(jobId, queued);
      const ac = new AbortController();
      const seen: StoredJobEvent[] = [];
      const reading = collect(events.subscribe(jobId, { signal: ac.signal }), (e) => seen.push(e));
      await waitFor(() => seen.length === 1);
      const abortedAt = Date.now();
      ac.abort();
      await expect(reading).resolves.toHaveLength(1);
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
    });

    it('yields nothing when the signal is already aborted', async () => {
      const jobId = newJobId();
      await events.publish(jobId, queued);
      await expect(collect(events.subscribe(jobId, { signal: AbortSignal.abort() }))).resolves.toEqual([]);
    });

    it('can be left early with break, and then follows again from the last id seen', async () => {
      const jobId = newJobId();
      for (let i = 0; i < 4; i++) await events.publish(jobId, message(`m${i}`));
      let lastSeen: string | undefined;
      for await (const e of events.subscribe(jobId, { signal: guard.signal })) {
        lastSeen = e.id;
        if (e.event.type === 'agent.message' && e.event.text === 'm1') break;
      }
      await events.publish(jobId, succeeded);
      const rest = await collect(events.subscribe(jobId, { afterId: lastSeen, signal: guard.signal }));
      expect(rest.map((e) => (e.event.type === 'agent.message' ? e.event.text : e.event.type))).toEqual(['m2', 'm3', 'job.succeeded']);
    });

    it('refuses a malformed afterId at once with an invalid_request error', () => {
      for (const afterId of ['', 'abc', '12', '1-2-3', '-1-0', '99999999999999999999-0']) {
        expect(() => events.subscribe(newJobId(), { afterId, signal: guard.signal })).toThrow(
          expect.objectContaining({ code: 'invalid_request' }),
        );
      }
    });

    it('rejects an event that does not match the schema, storing nothing', async () => {
      const jobId = newJobId();
      const bogus = { type: 'step.started', step: 'not-a-step' } as unknown as NewJobEvent; // deliberately invalid input
      await expect(events.publish(jobId, bogus)).rejects.toMatchObject({ code: 'internal', retryable: false });
      await events.publish(jobId, succeeded);
      const got = await collect(events.subscribe(jobId, { signal: guard.signal }));
      expect(got.map((e) => e.event.type)).toEqual(['job.succeeded']);
    });

    it('folds the status from the events, and answers null for an unknown job', async () => {
      const jobId = newJobId();
      expect(await events.getStatus(jobId)).toBeNull();
      await events.publish(jobId, queued);
      const afterQueued = await events.getStatus(jobId);
      expect(afterQueued).toMatchObject({ id: jobId, state: 'queued', attempt: 0, repoUrl: queued.repoUrl, cancelRequested: false });
      await events.publish(jobId, { type: 'job.started', attempt: 1, workerId: 'w1' });
      await events.publish(jobId, { type: 'step.started', step: 'clone' });
      await events.publish(jobId, message('working'));
      await events.publish(jobId, { type: 'job.cancel_requested' });
      expect(await events.getStatus(jobId)).toMatchObject({ state: 'running', attempt: 1, step: 'clone', cancelRequested: true, finishedAt: null });
      await events.publish(jobId, { type: 'job.cancelled', step: 'clone' });
      const final = await events.getStatus(jobId);
      expect(final).toMatchObject({ state: 'cancelled', cancelRequested: true, createdAt: afterQueued?.createdAt });
      expect(final?.finishedAt).toEqual(expect.any(String));
      expect(final?.startedAt).toEqual(expect.any(String));
    });

    it('records a failure and its error in the status', async () => {
      const jobId = newJobId();
      await events.publish(jobId, queued);
      await events.publish(jobId, { type: 'job.started', attempt: 1, workerId: 'w1' });
      await events.publish(jobId, { type: 'job.failed', error: { code: 'clone_failed', message: 'no', step: 'clone' } });
      expect(await events.getStatus(jobId)).toMatchObject({ state: 'failed', error: { code: 'clone_failed', step: 'clone' }, result: null });
    });

    // Tenants are unique per test, so the listings see only this test's jobs whatever the store holds.
    const newTenant = (): string => `t${randomUUID().slice(0, 8)}`;
    const queuedFor = (tenant: string): NewJobEvent => ({ ...queued, tenant });
    const listAll = async (query: Parameters<JobDirectory['listJobs']>[0]): Promise<string[][]> => {
      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.listJobs({ ...query, ...(cursor === undefined ? {} : { cursor }) });
        pages.push(page.jobs.map((j) => j.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined && pages.length < 50);
      return pages;
    };

    it('records the owner of a job in its status', async () => {
      const tenant = newTenant();
      const jobId = newJobId();
      await events.publish(jobId, queuedFor(tenant));
      expect(await events.getStatus(jobId)).toMatchObject({ id: jobId, tenant });
      const anonymous = newJobId();
      await events.publish(anonymous, queued);
      expect(await events.getStatus(anonymous)).toMatchObject({ id: anonymous, tenant: null });
    });

    it("lists a tenant's jobs newest first, only theirs, in pages that neither repeat nor skip", async () => {
      const [alice, bob] = [newTenant(), newTenant()];
      const aliceJobs: string[] = [];
      for (let i = 0; i < 7; i++) {
        const jobId = newJobId();
        await events.publish(jobId, queuedFor(alice));
        aliceJobs.unshift(jobId);
        await events.publish(newJobId(), queuedFor(bob));
        // Jobs of one millisecond are ordered by id, not by arrival: keep the creation times apart.
        await sleep(2);
      }
      const pages = await listAll({ tenant: alice, limit: 3 });
      expect(pages.map((p) => p.length)).toEqual([3, 3, 1]);
      expect(pages.flat()).toEqual(aliceJobs);
      const one = await directory.listJobs({ tenant: alice, limit: 7 });
      expect(one.jobs.map((j) => j.id)).toEqual(aliceJobs);
      expect(one.nextCursor).toBeNull();
      expect(one.jobs.every((j) => j.tenant === alice)).toBe(true);
      // Everyone's: both tenants' jobs, still newest first.
      const all = (await directory.listJobs({ limit: 100 })).jobs.filter((j) => j.tenant === alice || j.tenant === bob);
      expect(all).toHaveLength(14);
      expect(all.map((j) => j.createdAt)).toEqual([...all.map((j) => j.createdAt)].sort().reverse());
    });

    it('filters a listing by state, paging over the jobs that do not match', async () => {
      const tenant = newTenant();
      const done: string[] = [];
      for (let i = 0; i < 6; i++) {
        const jobId = newJobId();
        await events.publish(jobId, queuedFor(tenant));
        await sleep(2);
        if (i % 2 === 0) {
          await events.publish(jobId, succeeded);
          done.unshift(jobId);
        }
      }
      expect((await listAll({ tenant, state: 'succeeded', limit: 2 })).flat()).toEqual(done);
      const queuedOnes = await directory.listJobs({ tenant, state: 'queued', limit: 10 });
      expect(queuedOnes.jobs).toHaveLength(3);
      expect(queuedOnes.jobs.every((j) => j.state === 'queued')).toBe(true);
      expect(await directory.listJobs({ tenant, state: 'running', limit: 10 })).toEqual({ jobs: [], nextCursor: null });
    });

    it('refuses a cursor it did not hand out', async () => {
      for (const cursor of ['', 'garbage', Buffer.from('1:x').toString('base64url'), '!!!']) {
        await expect(directory.listJobs({ limit: 5, cursor })).rejects.toMatchObject({ code: 'invalid_request' });
      }
    });

    it('counts active jobs per tenant: queued and running hold a slot, a terminal event frees it', async () => {
      const [alice, bob] = [newTenant(), newTenant()];
      const ids = [newJobId(), newJobId(), newJobId()];
      expect(await directory.claimActiveSlot(alice, ids[0]!, 2)).toBe(true);
      await events.publish(ids[0]!, queuedFor(alice));
      expect(await directory.claimActiveSlot(alice, ids[1]!, 2)).toBe(true);
      await events.publish(ids[1]!, queuedFor(alice));
      await events.publish(ids[1]!, { type: 'job.started', attempt: 1, workerId: 'w' });
      expect(await directory.claimActiveSlot(alice, ids[2]!, 2)).toBe(false);
      // Another tenant has slots of its own.
      expect(await directory.claimActiveSlot(bob, newJobId(), 2)).toBe(true);
      // Failure frees the running job's slot; cancellation the queued one's.
      await events.publish(ids[1]!, { type: 'job.failed', error: { code: 'agent_failed', message: 'x' } });
      expect(await directory.claimActiveSlot(alice, ids[2]!, 2)).toBe(true);
      await events.publish(ids[2]!, queuedFor(alice));
      expect(await directory.claimActiveSlot(alice, newJobId(), 2)).toBe(false);
      await events.publish(ids[0]!, { type: 'job.cancelled' });
      const last = newJobId();
      expect(await directory.claimActiveSlot(alice, last, 2)).toBe(true);
      // A claim given back (the job was never queued) frees its slot too.
      await directory.releaseActiveSlot(alice, last);
      expect(await directory.claimActiveSlot(alice, newJobId(), 2)).toBe(true);
    });

    it('admits no more than max among claims racing for the last slots', async () => {
      const tenant = newTenant();
      const results = await Promise.all(Array.from({ length: 10 }, () => directory.claimActiveSlot(tenant, newJobId(), 3)));
      expect(results.filter(Boolean)).toHaveLength(3);
    });
  });
}
