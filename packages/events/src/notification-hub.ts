import { randomUUID } from 'node:crypto';
import { silentLogger, type Logger } from '@tinyb/core';
import type { Cluster, Redis } from 'ioredis';

type Connection = Redis | Cluster;

/** Called with the message published on the channel, or with nothing when every follower must look again. */
type Listener = (message?: string) => void;

interface Channel {
  listeners: Set<Listener>;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  ready: Promise<void>;
}

export interface NotificationCheck {
  /** How often the notification path is checked while any channel is watched. */
  intervalMs: number;
  /** How long a check's message may take to come back before the path counts as broken. Default: min(5 s, intervalMs). */
  timeoutMs?: number;
  /** Publishes on a connection other than the subscriber's (the check's message must travel the path under test). */
  publish(channel: string, message: string): Promise<unknown>;
  /** The check channel's name (unique per hub; the hub adds a random suffix). */
  channelPrefix: string;
}

/**
 * Fans one pub/sub connection out to many followers: a channel is subscribed once, however many followers
 * watch it, and unsubscribed when the last one leaves. So a thousand SSE clients cost one Redis connection,
 * not a thousand blocking XREADs. The connection is opened on first use: processes that only publish
 * (workers) never open it.
 *
 * Nothing is re-read while notifications flow. Two things say they may not have: a reconnect (handled by
 * `onReady`), and a check that fails. While any channel is watched, the hub publishes a message on its own
 * check channel every `intervalMs` from another connection and expects it back through the subscriber: a
 * subscriber whose connection went silent without closing (a half-open TCP path, a partition between Redis
 * Cluster nodes) misses it, and then every follower is told to look again (one read per watched job) and the
 * connection is rebuilt. Redis itself never drops a message to a live subscriber without closing its
 * connection (an output buffer over its limit is a disconnect), and every event is appended and announced by
 * one script, so these are the only ways an announcement can be missed.
 */
export class NotificationHub {
  private connection: Connection | undefined;
  private readonly channels = new Map<string, Channel>();
  /** The check, with its channel (the prefix and a random suffix); undefined: no check. */
  private readonly check: (NotificationCheck & { channel: string }) | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  /** The message the check in progress waits for, and what to call when it comes back. */
  private pendingCheck: { message: string; arrived: () => void } | undefined;
  private checks = 0;
  private readonly onMessage = (channel: string, message: string): void => {
    if (channel === this.check?.channel) {
      if (message === this.pendingCheck?.message) this.pendingCheck.arrived();
      return;
    }
    for (const listener of this.channels.get(channel)?.listeners ?? []) listener(message);
  };

  private readonly onError = (err: Error): void => {
    this.logger.warn({ err: err.message }, 'event notification redis error');
  };

  /**
   * After a reconnect, ioredis resubscribes every channel, but whatever was published while the connection
   * was down was never announced. So every follower is told to look again, once a PING sent after the
   * resubscription has come back (commands on one connection answer in order, so the channels are live by
   * then and nothing published after the follower's read can go unannounced). Also runs on the first
   * connect, where it costs one spurious read.
   */
  private readonly onReady = (): void => {
    const connection = this.connection;
    // 'ready' is emitted before ioredis sends the resubscriptions: let it send them first.
    setImmediate(() => {
      if (connection === undefined || this.connection !== connection) return;
      connection.ping().then(
        () => this.notifyAll(),
        () => undefined,
      );
    });
  };

  /** @param check the notification path's check (see the class); undefined: only reconnects cause a re-read. */
  constructor(
    private readonly connect: () => Connection,
    private readonly logger: Logger = silentLogger,
    check?: NotificationCheck,
  ) {
    this.check = check === undefined ? undefined : { ...check, channel: `${check.channelPrefix}:${randomUUID()}` };
  }

  private notifyAll(): void {
    for (const channel of this.channels.values()) for (const listener of channel.listeners) listener();
  }

  /** Subscribes `listener` to `channel`; resolves once messages are flowing, with the function that leaves. */
  async join(channel: string, listener: Listener): Promise<() => Promise<void>> {
    const connection = this.open();
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      const created: Channel = { listeners: new Set(), ready: connection.subscribe(channel).then(() => undefined) };
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel);
      });
      this.channels.set(channel, created);
      entry = created;
    }
    const joined = entry;
    joined.listeners.add(listener);
    try {
      await joined.ready;
    } catch (err) {
      joined.listeners.delete(listener);
      throw err;
    }
    let left = false;
    return async () => {
      if (left) return;
      left = true;
      joined.listeners.delete(listener);
      if (joined.listeners.size > 0 || this.channels.get(channel) !== joined) return;
      this.channels.delete(channel);
      // Commands on one connection run in order, so a later SUBSCRIBE of the same channel still wins.
      // A closed connection has nothing left to unsubscribe.
      await connection.unsubscribe(channel).catch(() => undefined);
    };
  }

  /** The number of channels currently subscribed (for tests and metrics). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Detaches from the connection and returns it (if one was opened) so its owner can close it. */
  detach(): Connection | undefined {
    const connection = this.connection;
    connection?.off('message', this.onMessage);
    connection?.off('error', this.onError);
    connection?.off('ready', this.onReady);
    this.connection = undefined;
    this.channels.clear();
    if (this.checkTimer !== undefined) clearInterval(this.checkTimer);
    this.checkTimer = undefined;
    this.pendingCheck = undefined;
    return connection;
  }

  private open(): Connection {
    if (this.connection === undefined) {
      this.connection = this.connect();
      this.connection.on('message', this.onMessage);
      // ioredis reconnects and resubscribes by itself; a listener keeps each failed attempt from being "unhandled".
      this.connection.on('error', this.onError);
      this.connection.on('ready', this.onReady);
      if (this.check !== undefined) {
        const connection = this.connection;
        // Subscribed for the hub's life; ioredis resubscribes it after a reconnect like the others.
        connection.subscribe(this.check.channel).catch(() => undefined);
        // One timer per process, not per follower or job.
        this.checkTimer = setInterval(() => void this.checkPath(connection), this.check.intervalMs);
        this.checkTimer.unref();
      }
    }
    return this.connection;
  }

  /**
   * One round trip through the notification path; when it does not come back in time, followers look again and
   * the subscriber connection is rebuilt. Skipped while nothing is watched or a check is still out, and when the
   * check cannot even be published (Redis is away: its return is a reconnect, which re-reads by itself).
   */
  private async checkPath(connection: Connection): Promise<void> {
    const check = this.check;
    if (check === undefined || this.channels.size === 0 || this.pendingCheck !== undefined) return;
    const message = String(++this.checks);
    let arrived = false;
    const back = new Promise<void>((resolve) => {
      this.pendingCheck = {
        message,
        arrived: () => {
          arrived = true;
          resolve();
        },
      };
    });
    const timeoutMs = check.timeoutMs ?? Math.min(5_000, check.intervalMs);
    let timer: NodeJS.Timeout | undefined;
    try {
      await check.publish(check.channel, message);
      await Promise.race([back, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      // A loop that was busy past the timeout runs the timer before it reads the reply waiting in the socket:
      // one poll phase first (setImmediate comes after it), so a busy process does not take itself for a silent one.
      if (!arrived) await new Promise<void>((resolve) => setImmediate(resolve));
    } catch {
      return;
    } finally {
      clearTimeout(timer);
      this.pendingCheck = undefined;
    }
    if (arrived || this.connection !== connection) return;
    this.logger.warn({ timeoutMs, channels: this.channels.size }, 'event notifications stopped arriving; re-reading every watched job and reconnecting');
    this.notifyAll();
    // A fresh connection: ioredis resubscribes every channel, and its 'ready' re-reads once more (see onReady).
    connection.disconnect(true);
  }
}
