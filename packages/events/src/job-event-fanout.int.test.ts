import { randomUUID } from 'node:crypto';
import type { NewJobEvent } from '@tinyb/contracts';
import { RedisFixture } from '@tinyb/testkit/redis';
import { JobEventFanout, type AnnouncedLogEntry, type FanoutSink, type JobEventLog } from './job-event-fanout.js';
import { jobEventKeys } from './job-event-keys.js';
import { RedisJobEvents } from './redis-job-events.js';

/** A client as the fan-out sees it: the SSE ids it was sent, in order, and how it ended. */
class RecordingSink implements FanoutSink {
  readonly ids: string[] = [];
  ended: string | undefined;
  private text = '';
  write(chunk: Uint8Array): boolean {
    this.text += Buffer.from(chunk).toString('utf8');
    for (const match of this.text.matchAll(/^id: (\S+)$/gm)) this.ids.push(match[1]!);
    this.text = this.text.slice(this.text.lastIndexOf('\n\n') + 2);
    return true;
  }
  end(reason: 'terminal' | 'too-slow' | 'closing'): void {
    this.ended = reason;
  }
}

/** The Redis log, counting the stream reads the fan-out makes and the entries its notifications carried. */
class CountingLog implements JobEventLog {
  reads = 0;
  carried = 0;
  constructor(private readonly inner: RedisJobEvents) {}
  readEntries(jobId: string, afterId: string | undefined, limit: number) {
    this.reads++;
    return this.inner.readEntries(jobId, afterId, limit);
  }
  watch(jobId: string, listener: (announced?: AnnouncedLogEntry) => void) {
    return this.inner.watch(jobId, (announced) => {
      if (announced !== undefined) this.carried++;
      listener(announced);
    });
  }
}

const step = (n: number): NewJobEvent => ({ type: 'agent.message', text: `message ${n}` });
const succeeded: NewJobEvent = { type: 'job.cancelled' };

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('JobEventFanout over RedisJobEvents', () => {
  let fixture: RedisFixture;
  let events: RedisJobEvents;
  let log: CountingLog;
  let fanout: JobEventFanout;

  beforeEach(() => {
    fixture = new RedisFixture('fanout');
    events = new RedisJobEvents({ redis: fixture.connect(), keyPrefix: fixture.prefix });
    log = new CountingLog(events);
    fanout = new JobEventFanout({ log, encode: ({ id, event }) => Buffer.from(`id: ${id}\nevent: ${event.type}\ndata: {}\n\n`) });
  });
  afterEach(async () => {
    await fanout.close();
    await events.close();
    await fixture.cleanup();
  });

  it('delivers live events from their notifications, with no stream read per event, in order, to every client', async () => {
    const jobId = randomUUID();
    const first = await events.publish(jobId, step(1));
    const clients = [new RecordingSink(), new RecordingSink(), new RecordingSink()];
    for (const sink of clients) fanout.attach(jobId, sink);
    await waitFor(() => clients.every((c) => c.ids.length === 1));
    const readsBeforeLive = log.reads;

    const ids = [first];
    for (let n = 2; n <= 20; n++) ids.push(await events.publish(jobId, step(n)));
    ids.push(await events.publish(jobId, succeeded));

    await waitFor(() => clients.every((c) => c.ended !== undefined));
    for (const sink of clients) {
      expect(sink.ids).toEqual(ids);
      expect(sink.ended).toBe('terminal');
    }
    expect(log.carried).toBe(20);
    expect(log.reads).toBe(readsBeforeLive);
  });

  it('reads the stream when an entry was appended without a notification carrying it, and loses nothing', async () => {
    const jobId = randomUUID();
    const sink = new RecordingSink();
    fanout.attach(jobId, sink);
    const ids = [await events.publish(jobId, step(1))];
    await waitFor(() => sink.ids.length === 1);

    // An append whose notification was lost: the next announcement's previous id is one the client lacks.
    const keys = jobEventKeys(fixture.prefix, jobId);
    const raw = fixture.connect();
    ids.push(await raw.xadd(keys.events, '*', 'data', JSON.stringify({ ...step(2), jobId, at: new Date().toISOString() })) as string);
    const readsBefore = log.reads;
    ids.push(await events.publish(jobId, step(3)));
    await waitFor(() => sink.ids.length === 3);
    expect(sink.ids).toEqual(ids);
    expect(log.reads).toBeGreaterThan(readsBefore);

    // A plain "look again" (as job.queued's notification is) also makes it read.
    ids.push(await raw.xadd(keys.events, '*', 'data', JSON.stringify({ ...step(4), jobId, at: new Date().toISOString() })) as string);
    await raw.publish(keys.notify, '1');
    await waitFor(() => sink.ids.length === 4);
    ids.push(await events.publish(jobId, succeeded));
    await waitFor(() => sink.ended !== undefined);
    expect(sink.ids).toEqual(ids);
  });

  it('sends a client resuming from an older id what it missed, then live events, without duplicates', async () => {
    const jobId = randomUUID();
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await events.publish(jobId, step(n)));
    const live = new RecordingSink();
    fanout.attach(jobId, live, { afterId: ids[4]! });
    const resuming = new RecordingSink();
    fanout.attach(jobId, resuming, { afterId: ids[1]! });
    await waitFor(() => resuming.ids.length === 3);
    for (let n = 6; n <= 8; n++) ids.push(await events.publish(jobId, step(n)));
    ids.push(await events.publish(jobId, succeeded));
    await waitFor(() => live.ended !== undefined && resuming.ended !== undefined);
    expect(resuming.ids).toEqual(ids.slice(2));
    expect(live.ids).toEqual(ids.slice(5));
  });

  it('keeps every client complete and in order while events are published as fast as possible', async () => {
    const jobId = randomUUID();
    const sinks = Array.from({ length: 50 }, () => new RecordingSink());
    const ids: string[] = [];
    // Clients attach while the events are being published: some read history, some are served live.
    const publishing = (async () => {
      for (let n = 1; n <= 200; n++) ids.push(await events.publish(jobId, step(n)));
      ids.push(await events.publish(jobId, succeeded));
    })();
    for (const sink of sinks) {
      fanout.attach(jobId, sink);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await publishing;
    await waitFor(() => sinks.every((s) => s.ended !== undefined), 10_000);
    for (const sink of sinks) expect(sink.ids).toEqual(ids);
  });
});

describe('JobEventFanout with announcements that have a gap', () => {
  /** A log in memory whose notifications the test sends by hand, so several land in one round. */
  class ScriptedLog implements JobEventLog {
    readonly entries: Array<{ id: string; event: NewJobEvent & { jobId: string; at: string } }> = [];
    listener: ((announced?: AnnouncedLogEntry) => void) | undefined;
    async readEntries(_jobId: string, afterId: string | undefined, limit: number) {
      const start = afterId === undefined ? 0 : this.entries.findIndex((e) => e.id === afterId) + 1;
      return this.entries.slice(start, start + limit) as never;
    }
    async watch(_jobId: string, listener: (announced?: AnnouncedLogEntry) => void) {
      this.listener = listener;
      return async () => undefined;
    }
    append(id: string, n: number) {
      this.entries.push({ id, event: { ...step(n), jobId: 'job', at: new Date().toISOString() } });
    }
    announce(id: string) {
      const index = this.entries.findIndex((e) => e.id === id);
      this.listener!({ id, previousId: this.entries[index - 1]?.id, event: this.entries[index]!.event as never });
    }
  }

  it('reads instead of serving from announcements that skip an entry', async () => {
    const log = new ScriptedLog();
    const fanout = new JobEventFanout({ log, encode: ({ id }) => Buffer.from(`id: ${id}\n\n`) });
    const sink = new RecordingSink();
    log.append('1-0', 1);
    fanout.attach('job', sink);
    await waitFor(() => sink.ids.length === 1);
    for (const [id, n] of [['2-0', 2], ['3-0', 3], ['4-0', 4], ['5-0', 5]] as const) log.append(id, n);
    // 2-0's notification starts a round; 3-0's and 5-0's arrive during it (4-0's is lost), so the next
    // round has both, with the gap between them.
    log.announce('2-0');
    log.announce('3-0');
    log.announce('5-0');
    await waitFor(() => sink.ids.length >= 4);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sink.ids).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0']);
    await fanout.close();
  });
});
