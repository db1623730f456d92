import { Cluster, type Redis } from 'ioredis';
import { isTerminalEvent, type JobEvent, type JobStatus, type NewJobEvent } from '@tinyb/contracts';
import {
  AppError,
  silentLogger,
  type ActiveJobSlots,
  type JobDirectory,
  type JobListPage,
  type JobListQuery,
  type JobEventPublisher,
  type JobEventSubscriber,
  type JobStatusReader,
  type Logger,
  type StoredJobEvent,
} from '@tinyb/core';
import { decodeEvent, decodeStatus, stampEvent, statusFieldsFor } from './job-event-codec.js';
import { jobEventKeys } from './job-event-keys.js';
import { indexWriteCommands, ownerFromStatusField, type IndexWriteContext } from './job-index-writes.js';
import type { StagedEventWriter, StagedWrites } from './staged-writes.js';
import { RedisJobDirectory } from './redis-job-directory.js';
import { NotificationHub } from './notification-hub.js';
import type { AnnouncedLogEntry, JobEventLog, JobLogEntry } from './job-event-fanout.js';
import { LOOK_AGAIN, parseAnnouncement, recordEventCommand, type RecordedEvent } from './announcement.js';
import { parseStreamId } from './stream-id.js';
import { Wakeup } from './wakeup.js';

const HOUR_MS = 60 * 60 * 1000;
const RETRY_FIRST_DELAY_MS = 100;
const RETRY_MAX_DELAY_MS = 2_000;

export interface RedisJobEventsDeps {
  /** A normal connection (XADD, XRANGE, HSET, PUBLISH). The caller owns it: `close()` leaves it open. */
  redis: Redis | Cluster;
  /**
   * Where live notifications arrive (a connection in subscriber mode can run nothing else). A factory is
   * called once, on the first `subscribe`, and its connection is closed by `close()`; a connection passed
   * as is stays the caller's. Default: `redis.duplicate()`, owned.
   */
  subscriber?: Redis | Cluster | (() => Redis | Cluster);
  /** Namespace of every key; default `tinyb`. */
  keyPrefix?: string;
  /** Approximate cap on a job's stream (`XADD MAXLEN ~`): a runaway agent cannot fill Redis. Default 10 000. */
  maxLen?: number;
  /** How long a finished job's events and status are kept after its terminal event. Default 24 h. */
  retentionMs?: number;
  /**
   * Expiry set on every non-terminal event, so a job that never finishes (its worker and the stalled
   * checker both lost) does not keep its keys forever. Each event pushes it forward (so would a stray
   * event after the terminal one: that job is then kept this long instead of retentionMs). Default 7 days.
   */
  activeTtlMs?: number;
  /**
   * How often the notification path is checked while any job is watched: one message published and expected
   * back through the subscriber (see NotificationHub). Nothing is re-read while it comes back; when it does not
   * (the subscriber went silent without closing), every watched job is read once and the subscriber reconnects,
   * so such a silence delays an event by at most this plus the check's timeout (at most 5 s). A reconnect of
   * the subscriber re-reads at once. Default 60 s.
   */
  notificationCheckMs?: number;
  /** Entries per XRANGE; history is read in pages of this size. Default 500. */
  readBatch?: number;
  logger?: Logger;
  now?: () => Date;
}

/**
 * Job events over Redis: one capped Stream per job (the log, whose ids are the SSE ids), a status hash
 * folded from the events in the same MULTI, and a pub/sub channel that announces each entry with the id
 * before it (so a follower at that id needs no read) or just says "look again".
 * Followers share one subscriber connection per instance. The listing and the active-job slots it
 * writes with the events are read through a RedisJobDirectory on the same keys.
 */
export class RedisJobEvents implements StagedEventWriter, JobEventPublisher, JobEventSubscriber, JobStatusReader, JobDirectory, ActiveJobSlots {
  private readonly redis: Redis | Cluster;
  private readonly prefix: string;
  private readonly maxLen: number;
  private readonly retentionMs: number;
  private readonly activeTtlMs: number;
  private readonly readBatch: number;
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly hub: NotificationHub;
  private readonly ownsSubscriber: boolean;
  private readonly closed = new AbortController();
  /** Each live follower's stop, aborted by close(): one Set, not one listener per follower on a shared signal. */
  private readonly followers = new Set<AbortController>();
  private readonly readsInFlight = new Map<string, Promise<DecodedEntry[]>>();
  private readonly directory: RedisJobDirectory;

  constructor(deps: RedisJobEventsDeps) {
    this.redis = deps.redis;
    this.prefix = deps.keyPrefix ?? 'tinyb';
    this.maxLen = deps.maxLen ?? 10_000;
    this.retentionMs = deps.retentionMs ?? 24 * HOUR_MS;
    this.activeTtlMs = deps.activeTtlMs ?? 7 * 24 * HOUR_MS;
    this.readBatch = deps.readBatch ?? 500;
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? (() => new Date());
    const subscriber = deps.subscriber;
    this.ownsSubscriber = typeof subscriber !== 'object';
    this.hub = new NotificationHub(
      subscriber === undefined
        ? () => duplicate(this.redis)
        : typeof subscriber === 'function'
          ? subscriber
          : () => subscriber,
      this.logger,
      {
        intervalMs: deps.notificationCheckMs ?? 60_000,
        publish: (channel, message) => this.redis.publish(channel, message),
        channelPrefix: `${this.prefix.replace(/[{}]/g, '')}:events:check`,
      },
    );
    this.directory = new RedisJobDirectory({
      redis: this.redis,
      keyPrefix: this.prefix,
      activeTtlMs: this.activeTtlMs,
      logger: this.logger,
      now: this.now,
    });
  }

  async publish(jobId: string, input: NewJobEvent): Promise<string> {
    const event = stampEvent(jobId, input, this.now());
    // The owner never changes once job.queued set it, so reading it outside the transaction is safe.
    const owner = isTerminalEvent(event) ? ownerFromStatusField(await this.redis.hget(jobEventKeys(this.prefix, jobId).status, 'tenant')) : undefined;
    const indexContext = this.indexContext(owner);
    // On a single Redis the indexes go in the event's own MULTI and can never disagree with it. On a cluster
    // they hash to the prefix's slot and the job's keys to the job's, which one MULTI cannot span.
    const clustered = this.redis.isCluster;
    const record = recordEventCommand(this.recordOf(event));
    const indexWrites = indexWriteCommands(event, indexContext);
    let id: unknown;
    if (clustered || indexWrites.length === 0) {
      // Most events (every step, every agent message) touch no index: one script, no transaction.
      id = await this.redis.call(record[0]!, ...record.slice(1)).catch((err: Error) => {
        throw new AppError('internal', err.message, { retryable: true, cause: err });
      });
    } else {
      const tx = this.redis.multi();
      tx.call(record[0]!, ...record.slice(1));
      for (const [name, ...args] of indexWrites) tx.call(name as string, ...args);
      const results = await tx.exec();
      if (results === null) throw new AppError('internal', 'event transaction was aborted', { retryable: true });
      for (const [err] of results) if (err) throw new AppError('internal', err.message, { retryable: true, cause: err });
      id = results[0]?.[1];
    }
    if (typeof id !== 'string') throw new AppError('internal', 'XADD returned no stream id', { retryable: true });
    if (clustered && indexWrites.length > 0) await this.writeIndexesAfter(event, indexWrites);
    return id;
  }

  /**
   * `job.queued`'s writes (the event, the status, the indexes) as data, for the queue to run in the same
   * transaction as the job's BullMQ add: one round trip, and the job is never queued without being announced
   * nor announced without being queued. Undefined on a cluster, where the job's keys and the indexes (and the
   * queue's) are in different slots; the caller then publishes on its own. Validates the event now.
   */
  stageQueued(jobId: string, input: NewJobEvent): StagedWrites | undefined {
    if (this.redis.isCluster) return undefined;
    const event = stampEvent(jobId, input, this.now());
    if (event.type !== 'job.queued') throw new AppError('internal', `stageQueued takes job.queued, not ${event.type}`);
    // The queue's announce script runs these with redis.call, which cannot EVAL: a plain notification then.
    const commands = [...this.stagedEventWrites(event), ...indexWriteCommands(event, this.indexContext(undefined))];
    return { keys: [...new Set(commands.map((c) => c[1] ?? ''))], commands };
  }

  /** What recording `event` writes (see `recordEventCommand`). */
  private recordOf(event: JobEvent): RecordedEvent {
    const keys = jobEventKeys(this.prefix, event.jobId);
    const statusFields: string[] = [];
    for (const [name, value] of Object.entries(statusFieldsFor(event))) statusFields.push(name, value);
    return {
      streamKey: keys.events,
      statusKey: keys.status,
      channel: keys.notify,
      maxLen: this.maxLen,
      json: JSON.stringify(event),
      ttlMs: isTerminalEvent(event) ? this.retentionMs : this.activeTtlMs,
      statusFields,
    };
  }

  /**
   * The same record as plain commands, the first one's reply being the stream id, for a script that runs them
   * with redis.call (which cannot EVAL): its notification says only "look again".
   */
  private stagedEventWrites(event: JobEvent): string[][] {
    const r = this.recordOf(event);
    const ttlMs = String(r.ttlMs);
    const commands = [['xadd', r.streamKey, 'MAXLEN', '~', String(r.maxLen), '*', 'data', r.json]];
    if (r.statusFields.length > 0) commands.push(['hset', r.statusKey, ...r.statusFields]);
    commands.push(['pexpire', r.streamKey, ttlMs], ['pexpire', r.statusKey, ttlMs], ['publish', r.channel, LOOK_AGAIN]);
    return commands;
  }

  private indexContext(owner: string | undefined): IndexWriteContext {
    return {
      prefix: this.prefix,
      owner,
      nowMs: this.now().getTime(),
      horizonMs: this.activeTtlMs + this.retentionMs,
      activeTtlMs: this.activeTtlMs,
    };
  }

  /**
   * The cluster's second transaction, after the event's. The event is the record, so the indexes follow it:
   * a listing never meets an entry whose job has no status yet (it would drop it as expired). If this write
   * is lost, the event stands and is not published twice: a terminal event's active slot is freed by the
   * next claim of its tenant (RedisJobDirectory.releaseSettledSlots reads the job's state); a job.queued
   * whose entry is lost is missing from listings, which is logged. Every write here can be repeated.
   */
  private async writeIndexesAfter(event: JobEvent, indexWrites: readonly string[][]): Promise<void> {
    const tx = this.redis.multi();
    for (const [name, ...args] of indexWrites) tx.call(name as string, ...args);
    try {
      const results = await tx.exec();
      const failed = results?.find(([err]) => err !== null)?.[0];
      if (results === null || failed) throw failed ?? new Error('index transaction was aborted');
    } catch (err) {
      this.logger.warn({ jobId: event.jobId, type: event.type, err: errorMessage(err) }, 'job index write after the event failed');
    }
  }

  /**
   * Validates `afterId` at once (throwing AppError `invalid_request`, before any response is written), then
   * returns the lazy follower.
   */
  subscribe(jobId: string, opts: { afterId?: string; signal: AbortSignal }): AsyncIterable<StoredJobEvent> {
    if (opts.afterId !== undefined) parseStreamId(opts.afterId);
    return this.follow(jobId, opts.afterId, opts.signal);
  }

  listJobs(query: JobListQuery): Promise<JobListPage> {
    return this.directory.listJobs(query);
  }

  claimActiveSlot(tenant: string, jobId: string, max: number): Promise<boolean> {
    return this.directory.claimActiveSlot(tenant, jobId, max);
  }

  releaseActiveSlot(tenant: string, jobId: string): Promise<void> {
    return this.directory.releaseActiveSlot(tenant, jobId);
  }

  async getStatus(jobId: string): Promise<JobStatus | null> {
    const fields = await this.redis.hgetall(jobEventKeys(this.prefix, jobId).status);
    return decodeStatus(jobId, fields);
  }

  /**
   * One XRANGE for all followers that ask for the same page at the same time: a notification wakes every
   * follower of a job at once, and they are usually all at the same last id, so a job with a hundred SSE
   * clients costs one read per event instead of a hundred.
   */
  private readAfter(key: string, last: string | undefined, limit = this.readBatch): Promise<DecodedEntry[]> {
    const start = last === undefined ? '-' : `(${last}`;
    const flightKey = `${key} ${start} ${limit}`;
    let read = this.readsInFlight.get(flightKey);
    if (read === undefined) {
      read = this.redis
        .xrange(key, start, '+', 'COUNT', limit)
        .then((entries) => entries.map(([id, fields]) => ({ id, event: decodeEvent(dataField(fields)) })))
        .finally(() => this.readsInFlight.delete(flightKey));
      this.readsInFlight.set(flightKey, read);
    }
    return read;
  }

  /** JobEventLog: one page of the job's log after `afterId`, shared with concurrent reads of the same page. */
  readEntries(jobId: string, afterId: string | undefined, limit: number): Promise<JobLogEntry[]> {
    return this.readAfter(jobEventKeys(this.prefix, jobId).events, afterId, limit);
  }

  /**
   * JobEventLog: the job's notifications call `listener` with the entry they carry (undefined for a plain
   * "look again"), and every reconnect and failed notification check calls it with nothing.
   */
  watch(jobId: string, listener: (announced?: AnnouncedLogEntry) => void): Promise<() => Promise<void>> {
    return this.hub.join(jobEventKeys(this.prefix, jobId).notify, (message) => listener(message === undefined ? undefined : parseAnnouncement(message)));
  }

  /** Ends every live follower and closes the subscriber connection if this instance opened it. */
  async close(): Promise<void> {
    this.closed.abort();
    for (const follower of this.followers) follower.abort();
    this.followers.clear();
    const subscriber = this.hub.detach();
    if (subscriber !== undefined && this.ownsSubscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private async *follow(jobId: string, afterId: string | undefined, signal: AbortSignal): AsyncGenerator<StoredJobEvent> {
    if (signal.aborted || this.closed.signal.aborted) return;
    // One stop per follower, linked once: waits listen on it alone. (Adding a listener per wait to a signal
    // every follower shares costs O(followers) each, O(n²) per notification round: 24% of CPU at 10k.)
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.followers.add(stop);
    const stops = [stop.signal];
    const stopped = (): boolean => stop.signal.aborted;
    const keys = jobEventKeys(this.prefix, jobId);
    const wakeup = new Wakeup();
    const retry = <T>(attempt: () => Promise<T>) => this.retryWhileRedisIsAway(jobId, attempt, wakeup, stops);
    // Subscribe before the first read: an event published in between is then both in the read or
    // after it, and announced to us, so it can be neither lost nor (thanks to `last`) delivered twice.
    const leave = await retry(() => this.hub.join(keys.notify, () => wakeup.notify()));
    if (leave === undefined) {
      signal.removeEventListener('abort', onAbort);
      this.followers.delete(stop);
      return;
    }
    try {
      let last = afterId;
      for (;;) {
        if (stopped()) return;
        const entries = await retry(() => this.readAfter(keys.events, last));
        if (entries === undefined) return;
        for (const { id, event } of entries) {
          last = id;
          if (event === undefined) {
            // Skipped, not thrown: an event type from a newer worker (rolling deploy) must not wedge every client.
            this.logger.warn({ jobId, eventId: id }, 'skipping unreadable job event');
            continue;
          }
          yield { id, event };
          if (isTerminalEvent(event) || stopped()) return;
        }
        // No timeout: the hub's reconnect notice and its notification check are the safety net, not polling.
        if (entries.length < this.readBatch) await wakeup.wait(undefined, stops);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.followers.delete(stop);
      await leave();
    }
  }

  /**
   * Runs `attempt` until it succeeds or the follower stops (then resolves undefined), waiting 100 ms, 200 ms, …
   * up to 2 s between tries; a notification (the hub announces every reconnect) cuts a wait short. A live
   * follower outlives a Redis outage this way: ending it would end the client's stream with no terminal
   * event, and the client's reconnect would meet the same outage. Every error is retried: the only ones a
   * read of our own keys meets are Redis being away, restarting or loading its data.
   */
  private async retryWhileRedisIsAway<T>(
    jobId: string,
    attempt: () => Promise<T>,
    wakeup: Wakeup,
    stops: readonly AbortSignal[],
  ): Promise<T | undefined> {
    for (let failures = 0, delayMs = RETRY_FIRST_DELAY_MS; ; failures++, delayMs = Math.min(delayMs * 2, RETRY_MAX_DELAY_MS)) {
      try {
        const result = await attempt();
        if (failures > 0) this.logger.info({ jobId, failures }, 'job event follower reached redis again');
        return result;
      } catch (err) {
        if (stops.some((s) => s.aborted)) return undefined;
        if (failures === 0) this.logger.warn({ jobId, err: errorMessage(err) }, 'job event follower cannot reach redis; retrying');
        await wakeup.wait(delayMs, stops);
      }
    }
  }
}

/** A connection like `redis` (narrowed: the two classes' duplicate() signatures cannot be called as a union). */
function duplicate(redis: Redis | Cluster): Redis | Cluster {
  // The subscriber queues its SUBSCRIBEs until it has connected, even when the connection it copies fails fast
  // (the API's does): without this, every follower of a fresh process met "Stream isn't writeable" and retried.
  return redis instanceof Cluster ? redis.duplicate(undefined, { enableOfflineQueue: true }) : redis.duplicate({ enableOfflineQueue: true });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A stream entry, parsed once; `event` is undefined when the entry is not a valid JobEvent. */
interface DecodedEntry {
  id: string;
  event: JobEvent | undefined;
}

function dataField(fields: string[]): string {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === 'data') return fields[i + 1] ?? '';
  return '';
}
