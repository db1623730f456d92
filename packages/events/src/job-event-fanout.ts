import { isTerminalEvent, type JobEvent } from '@tinyb/contracts';
import { silentLogger, type Logger, type StoredJobEvent } from '@tinyb/core';

/** An entry of a job's log as read; `event` is undefined when this version cannot read it. */
export interface JobLogEntry {
  id: string;
  event: JobEvent | undefined;
}

/** An entry as its notification announced it: it was appended right after `previousId` (undefined: first). */
export interface AnnouncedLogEntry extends JobLogEntry {
  previousId: string | undefined;
}

/**
 * What the fan-out needs from a job event log: ranged reads and notifications. RedisJobEvents implements it
 * over one Stream per job and one pub/sub connection per process.
 */
export interface JobEventLog {
  /** Up to `limit` entries after `afterId` (from the first when undefined), in order. */
  readEntries(jobId: string, afterId: string | undefined, limit: number): Promise<JobLogEntry[]>;
  /**
   * Calls `listener` whenever the job's log may have grown: with the new entry when the notification carries
   * it, with nothing when it does not and after any outage of the notifications (whatever was announced
   * meanwhile was lost). Notifications arrive in the order of the log. Resolves once they flow, with the
   * function that stops them.
   */
  watch(jobId: string, listener: (announced?: AnnouncedLogEntry) => void): Promise<() => Promise<void>>;
}

/** One client's stream as the fan-out sees it: bytes in, and an end. */
export interface FanoutSink {
  /**
   * Queues bytes for the client; false when the client is too far behind to keep (its unsent bytes are over
   * the budget): the fan-out then ends it, and the client resumes with Last-Event-ID when it catches up.
   */
  write(chunk: Uint8Array): boolean;
  /** Ends the stream: after a terminal event, when the client fell behind, or when the fan-out closes. */
  end(reason: 'terminal' | 'too-slow' | 'closing'): void;
}

export interface JobEventFanoutDeps {
  log: JobEventLog;
  /** The bytes of one event for every client of the job (an SSE frame): called once per event, not per client. */
  encode(entry: StoredJobEvent): Uint8Array;
  /** Writes between two yields to the event loop, so a fan-out to 10,000 clients never holds it for long. Default 256. */
  sliceSize?: number;
  /** Entries per read. Default 500. */
  readBatch?: number;
  /** Called once per event and batch of clients it was written to (for the relay-lag metric). */
  onDelivered?(event: JobEvent, clients: number): void;
  logger?: Logger;
}

interface Client {
  readonly sink: FanoutSink;
  readonly jobId: string;
  done: boolean;
}

interface Channel {
  readonly jobId: string;
  /** Clients grouped by the last entry they have: after one pass they all share the log's tail, one group. */
  readonly groups: Map<string, Set<Client>>;
  clients: number;
  pumping: boolean;
  dirty: boolean;
  /** Entries announced since the last round, in log order: clients at the id before one need no read. */
  announced: AnnouncedLogEntry[];
  /** A notification without its entry (or after an outage) came: this round reads for every group. */
  mustRead: boolean;
  /**
   * The newest id this process knows to be the log's tail, short of notifications it has not handled yet
   * (each of which will run a round): a group there has nothing to read. Undefined: unknown.
   */
  tail: string | undefined;
  /** The watch is live: reads from now on cannot miss an announcement. */
  watching: boolean;
  stopWatching: Promise<(() => Promise<void>) | undefined> | undefined;
  retryTimer: NodeJS.Timeout | undefined;
  failures: number;
}

const FROM_START = '';
const RETRY_FIRST_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 2_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Relays job events to many SSE clients from one process. Per job: one watch (one pub/sub channel), one
 * reader (one XRANGE per notification for all its clients, however many), and each event encoded once into
 * bytes that every client's socket is handed as is. Clients that resume from different ids are read for
 * group by group and merge into one group once they reach the tail. Writes run in slices with a yield
 * between them, so health checks and submits are served while an event goes out to thousands.
 * Nothing here polls: a job is read when its notification says so, or after the notifications were down.
 */
export class JobEventFanout {
  private readonly log: JobEventLog;
  private readonly encode: (entry: StoredJobEvent) => Uint8Array;
  private readonly sliceSize: number;
  private readonly readBatch: number;
  private readonly onDelivered: ((event: JobEvent, clients: number) => void) | undefined;
  private readonly logger: Logger;
  private readonly channels = new Map<string, Channel>();
  private openCount = 0;
  private closed = false;

  constructor(deps: JobEventFanoutDeps) {
    this.log = deps.log;
    this.encode = deps.encode;
    this.sliceSize = deps.sliceSize ?? 256;
    this.readBatch = deps.readBatch ?? 500;
    this.onDelivered = deps.onDelivered;
    this.logger = deps.logger ?? silentLogger;
  }

  /** Streams open in this process. */
  get streams(): number {
    return this.openCount;
  }

  /** Jobs with at least one stream in this process. */
  get jobs(): number {
    return this.channels.size;
  }

  /**
   * Sends `sink` every event of the job after `afterId` (all when absent), then live ones, until a terminal
   * event. Returns the function that detaches it (call it when the client goes away; calling it twice is fine).
   */
  attach(jobId: string, sink: FanoutSink, opts: { afterId?: string } = {}): () => void {
    const client: Client = { sink, jobId, done: false };
    if (this.closed) {
      sink.end('closing');
      return () => undefined;
    }
    let channel = this.channels.get(jobId);
    if (channel === undefined) {
      channel = {
        jobId,
        groups: new Map(),
        clients: 0,
        pumping: false,
        dirty: false,
        announced: [],
        mustRead: true,
        tail: undefined,
        watching: false,
        stopWatching: undefined,
        retryTimer: undefined,
        failures: 0,
      };
      this.channels.set(jobId, channel);
      this.startWatching(channel);
    }
    addTo(channel.groups, opts.afterId ?? FROM_START, client);
    channel.clients++;
    this.openCount++;
    // Before the watch is live a read could miss an event announced in between: the watch pumps once it is.
    if (channel.watching) this.pump(channel);
    return () => this.detach(channel, client);
  }

  /** Writes `chunk` (a heartbeat comment) to every open stream, in slices. */
  async broadcast(chunk: Uint8Array): Promise<void> {
    let written = 0;
    for (const channel of [...this.channels.values()]) {
      for (const group of [...channel.groups.values()]) {
        for (const client of [...group]) {
          if (client.done) continue;
          if (!client.sink.write(chunk)) this.drop(client, 'too-slow');
          if (++written % this.sliceSize === 0) await yieldToEventLoop();
        }
      }
    }
  }

  /** Ends every stream (clients resume elsewhere with Last-Event-ID) and stops watching every job. */
  async close(): Promise<void> {
    this.closed = true;
    const channels = [...this.channels.values()];
    for (const channel of channels) {
      for (const group of channel.groups.values()) for (const client of group) this.drop(client, 'closing');
    }
    await Promise.all(channels.map((channel) => this.release(channel)));
  }

  private startWatching(channel: Channel): void {
    const watching = this.log.watch(channel.jobId, (announced) => this.notified(channel, announced)).then(
      (stop) => {
        if (this.channels.get(channel.jobId) !== channel) {
          void stop().catch(() => undefined);
          return undefined;
        }
        channel.failures = 0;
        channel.watching = true;
        // The watch is live: whatever was published before it is in the first read.
        this.pump(channel);
        return stop;
      },
      (err: unknown) => {
        if (this.channels.get(channel.jobId) === channel) {
          this.logger.warn({ jobId: channel.jobId, err: errorMessage(err) }, 'cannot watch job events; retrying');
          this.retryLater(channel, () => this.startWatching(channel));
        }
        return undefined;
      },
    );
    channel.stopWatching = watching;
  }

  private retryLater(channel: Channel, again: () => void): void {
    if (channel.retryTimer !== undefined) return;
    const delayMs = Math.min(RETRY_FIRST_DELAY_MS * 2 ** channel.failures++, RETRY_MAX_DELAY_MS);
    channel.retryTimer = setTimeout(() => {
      channel.retryTimer = undefined;
      if (this.channels.get(channel.jobId) === channel) again();
    }, delayMs);
  }

  private notified(channel: Channel, announced: AnnouncedLogEntry | undefined): void {
    if (announced === undefined || channel.announced.length >= this.readBatch) {
      // Nothing to serve from (or a burst better read in pages): every group reads this round.
      channel.mustRead = true;
      channel.announced = [];
    } else {
      channel.announced.push(announced);
    }
    this.pump(channel);
  }

  /**
   * Reads and delivers until every group has reached the log's tail. One pump per job at a time; a
   * notification during a pump marks the job dirty and the pump goes round again, so none is lost.
   */
  private pump(channel: Channel): void {
    if (channel.pumping) {
      channel.dirty = true;
      return;
    }
    channel.pumping = true;
    void this.pumpRounds(channel).finally(() => {
      channel.pumping = false;
    });
  }

  private async pumpRounds(channel: Channel): Promise<void> {
    do {
      channel.dirty = false;
      const round = this.takeAnnounced(channel);
      for (const [cursor, group] of [...channel.groups]) {
        if (this.channels.get(channel.jobId) !== channel) return;
        if (group.size === 0) {
          if (channel.groups.get(cursor) === group) channel.groups.delete(cursor);
          continue;
        }
        let entries: JobLogEntry[];
        const fromAnnouncements = round.after(cursor);
        if (fromAnnouncements !== undefined) {
          entries = fromAnnouncements;
        } else if (cursor === round.newest) {
          continue;
        } else {
          try {
            entries = await this.log.readEntries(channel.jobId, cursor === FROM_START ? undefined : cursor, this.readBatch);
          } catch (err) {
            if (channel.failures === 0) this.logger.warn({ jobId: channel.jobId, err: errorMessage(err) }, 'cannot read job events; retrying');
            channel.mustRead = true;
            this.retryLater(channel, () => this.pump(channel));
            return;
          }
          channel.failures = 0;
          if (entries.length < this.readBatch) channel.tail = entries.length === 0 ? cursor : entries[entries.length - 1]!.id;
        }
        if (entries.length === 0) continue;
        if (entries.length >= this.readBatch) channel.dirty = true;
        // The group leaves its cursor now: clients attaching at that cursor meanwhile form a new group and are read for next round.
        if (channel.groups.get(cursor) === group) channel.groups.delete(cursor);
        const { chunk, last, terminal, events } = this.encodeEntries(channel.jobId, entries);
        const members = [...group].filter((c) => !c.done);
        if (chunk.byteLength > 0) await this.writeToAll(members, chunk);
        for (const event of events) this.onDelivered?.(event, members.length);
        for (const client of members) {
          if (client.done) continue;
          if (terminal) this.drop(client, 'terminal');
          else addTo(channel.groups, last, client);
        }
      }
    } while (channel.dirty && channel.groups.size > 0);
  }

  /**
   * This round's announced entries, taken off the channel. `after(cursor)` gives the entries that follow
   * `cursor` when the announcements hold them all (the cursor is one's previous id and none is missing
   * after it); `newest` is the id a group needs nothing after. Announcements with a gap (one was lost)
   * or after a plain "look again" are not used: every group then reads.
   */
  private takeAnnounced(channel: Channel): { after(cursor: string): AnnouncedLogEntry[] | undefined; newest: string | undefined } {
    const announced = channel.announced;
    const mustRead = channel.mustRead || !isContiguous(announced);
    channel.announced = [];
    channel.mustRead = false;
    if (mustRead) {
      channel.tail = undefined;
      return { after: () => undefined, newest: undefined };
    }
    if (announced.length === 0) return { after: () => undefined, newest: channel.tail };
    const newest = announced[announced.length - 1]!.id;
    channel.tail = newest;
    return {
      after: (cursor) => {
        const start = announced.findIndex((entry) => (entry.previousId ?? FROM_START) === cursor);
        return start < 0 ? undefined : announced.slice(start);
      },
      newest,
    };
  }

  /** Every readable entry up to the first terminal event, as one chunk: one write per client per read. */
  private encodeEntries(jobId: string, entries: readonly JobLogEntry[]) {
    const frames: Uint8Array[] = [];
    const events: JobEvent[] = [];
    let last = entries[0]!.id;
    let terminal = false;
    for (const { id, event } of entries) {
      last = id;
      if (event === undefined) {
        // Skipped, not fatal: an event type from a newer worker (rolling deploy) must not wedge every client.
        this.logger.warn({ jobId, eventId: id }, 'skipping unreadable job event');
        continue;
      }
      frames.push(this.encode({ id, event }));
      events.push(event);
      if (isTerminalEvent(event)) {
        terminal = true;
        break;
      }
    }
    const chunk = frames.length === 1 ? frames[0]! : Buffer.concat(frames);
    return { chunk, last, terminal, events };
  }

  private async writeToAll(members: readonly Client[], chunk: Uint8Array): Promise<void> {
    for (let i = 0; i < members.length; i++) {
      const client = members[i]!;
      if (!client.done && !client.sink.write(chunk)) this.drop(client, 'too-slow');
      if ((i + 1) % this.sliceSize === 0 && i + 1 < members.length) await yieldToEventLoop();
    }
  }

  private drop(client: Client, reason: 'terminal' | 'too-slow' | 'closing'): void {
    if (client.done) return;
    client.sink.end(reason);
    const channel = this.channels.get(client.jobId);
    if (channel !== undefined) this.detach(channel, client);
  }

  private detach(channel: Channel, client: Client): void {
    if (client.done) return;
    client.done = true;
    this.openCount--;
    for (const [cursor, group] of channel.groups) {
      if (group.delete(client)) {
        if (group.size === 0) channel.groups.delete(cursor);
        break;
      }
    }
    if (--channel.clients === 0 && this.channels.get(channel.jobId) === channel) void this.release(channel);
  }

  private async release(channel: Channel): Promise<void> {
    this.channels.delete(channel.jobId);
    if (channel.retryTimer !== undefined) clearTimeout(channel.retryTimer);
    const stop = await channel.stopWatching;
    await stop?.().catch(() => undefined);
  }
}

function isContiguous(entries: readonly AnnouncedLogEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (entries[i]!.previousId !== entries[i - 1]!.id) return false;
  return true;
}

function addTo(groups: Map<string, Set<Client>>, cursor: string, client: Client): void {
  let group = groups.get(cursor);
  if (group === undefined) {
    group = new Set();
    groups.set(cursor, group);
  }
  group.add(client);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
