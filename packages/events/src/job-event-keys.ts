/**
 * The Redis keys of one job. The job id is a hash tag (`{id}`), so a job's stream and status hash live in
 * the same cluster slot and one MULTI can write both. The prefix's own braces are dropped here: on a cluster
 * the prefix carries a tag (`{tinyb}`), and Redis hashes a key's first tag, which would put every job in the
 * prefix's one slot. A prefix without braces (any single Redis by default) gives the same keys as before.
 */
export function jobEventKeys(prefix: string, jobId: string): { events: string; status: string; notify: string } {
  const base = `${prefix.replace(/[{}]/g, '')}:job:{${jobId}}`;
  return { events: `${base}:events`, status: `${base}:status`, notify: `${base}:notify` };
}

/**
 * The keys that find jobs by owner. On a single Redis they are written in the same MULTI as a job's own
 * keys; on a Redis Cluster they live in the prefix's slot (its `{tinyb}` tag, which BullMQ's keys require
 * too) and a job's in another, so RedisJobEvents writes them in a second transaction (see its `publish`).
 */
export const jobIndexKeys = {
  /** Every job, newest last (see job-index-entry). */
  all: (prefix: string): string => `${prefix}:jobs:index`,
  /** One tenant's jobs. */
  tenant: (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:jobs`,
  /** Sorted set of the tenant's queued or running job ids, scored by when they took their slot. */
  active: (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:active`,
};
