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

/**
 * Fans one pub/sub connection out to many followers: a channel is subscribed once, however many followers
 * watch it, and unsubscribed when the last one leaves. So a thousand SSE clients cost one Redis connection,
 * not a thousand blocking XREADs. The connection is opened on first use: processes that only publish
 * (workers) never open it.
 */
export class NotificationHub {
  private connection: Connection | undefined;
  private readonly channels = new Map<string, Channel>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly onMessage = (channel: string, message: string): void => {
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

  /**
   * @param sweepIntervalMs how often every listener is told to look again while all is well: the one safety
   * net for a notification lost without a reconnect (there is no per-follower polling). Undefined: never.
   */
  constructor(
    private readonly connect: () => Connection,
    private readonly logger: Logger = silentLogger,
    private readonly sweepIntervalMs?: number,
  ) {}

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
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    return connection;
  }

  private open(): Connection {
    if (this.connection === undefined) {
      this.connection = this.connect();
      this.connection.on('message', this.onMessage);
      // ioredis reconnects and resubscribes by itself; a listener keeps each failed attempt from being "unhandled".
      this.connection.on('error', this.onError);
      this.connection.on('ready', this.onReady);
      if (this.sweepIntervalMs !== undefined) {
        // One timer per process, not per follower: 10,000 idle streams on one job cost one read per sweep.
        this.sweepTimer = setInterval(() => this.notifyAll(), this.sweepIntervalMs);
        this.sweepTimer.unref();
      }
    }
    return this.connection;
  }
}
