import { Cluster, type Redis } from 'ioredis';
import { redisConnectionOptions, type RedisConnectionOptions } from './redis-connection-options.js';

/** A connection to a single Redis or to a Redis Cluster: every class here that talks to Redis takes either. */
export type RedisClient = Redis | Cluster;

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is: one server (`REDIS_URL`), or a Redis Cluster reached through some of its masters
 * (`REDIS_CLUSTER_NODES`). On a cluster the credentials and TLS of `REDIS_URL` (or `REDIS_PASSWORD`) apply to
 * every node; its host and database do not (a cluster has only database 0).
 */
export type RedisTarget =
  | { kind: 'single'; options: RedisConnectionOptions }
  | { kind: 'cluster'; nodes: ClusterNodeAddress[]; options: Omit<RedisConnectionOptions, 'host' | 'port' | 'db'> };

export interface RedisTargetSettings {
  /** `REDIS_URL`. */
  url?: string;
  /** `REDIS_CLUSTER_NODES`: `host:port,host:port`. Empty or absent: a single Redis at `url`. */
  clusterNodes?: string;
  /** `REDIS_PASSWORD`: overrides the password of `url` (a Secret can hold it apart from the URL). */
  password?: string;
}

export function redisTarget(settings: RedisTargetSettings): RedisTarget {
  const options = redisConnectionOptions(settings.url);
  if (settings.password !== undefined && settings.password !== '') options.password = settings.password;
  const spec = settings.clusterNodes?.trim() ?? '';
  if (spec === '') return { kind: 'single', options };
  if (options.db !== 0) throw new Error('REDIS_URL names a database other than 0, which a Redis Cluster does not have');
  const { host: _host, port: _port, db: _db, ...shared } = options;
  return { kind: 'cluster', nodes: spec.split(',').map(parseNode), options: shared };
}

/** `host:port` or `[v6]:port`; the message never repeats more than the one entry. */
function parseNode(entry: string): ClusterNodeAddress {
  const match = /^\s*(\[[^\]]+\]|[^:\s]+):(\d{1,5})\s*$/.exec(entry);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    throw new Error(`REDIS_CLUSTER_NODES entry '${entry.trim().slice(0, 80)}' is not host:port`);
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/**
 * The key prefix to use on this target. On a cluster every key one MULTI, Lua script or BullMQ script touches
 * must hash to one slot, and BullMQ's keys of a queue (`<prefix>:<queue>:*`) only do when the prefix carries a
 * hash tag. A prefix without braces is wrapped (`tinyb` → `{tinyb}`), so the same REDIS_PREFIX works on both;
 * a prefix whose braces make no tag (Redis hashes the first `{…}` that holds something) is refused, since
 * Redis would hash whole keys and scatter a queue over the slots. A single Redis keeps its prefix as given.
 */
export function keyPrefixFor(target: RedisTarget, prefix: string): string {
  if (target.kind === 'single') return prefix;
  const open = prefix.indexOf('{');
  if (open === -1 && !prefix.includes('}')) return `{${prefix}}`;
  const close = open === -1 ? -1 : prefix.indexOf('}', open + 1);
  if (close === -1 || close === open + 1) {
    throw new Error(`REDIS_PREFIX '${prefix}' has braces but no hash tag; on a Redis Cluster use one like {tinyb}`);
  }
  return prefix;
}

/**
 * What BullMQ Workers connect with: on a single Redis the options (BullMQ opens its own connections from
 * them, as before); on a cluster the process's shared Cluster connection (`shared`), which BullMQ uses for
 * normal commands and duplicates for each Worker's blocking reads.
 */
export function workerConnectionFor(target: RedisTarget, shared: RedisClient): RedisConnectionOptions | Cluster {
  if (target.kind === 'single') return target.options;
  if (!(shared instanceof Cluster)) throw new Error('a Redis Cluster target needs its Cluster connection');
  return shared;
}
