/**
 * The Redis keys of one job. The job id is a hash tag (`{id}`), so a job's stream and status hash live in
 * the same cluster slot and one MULTI can write both.
 */
export function jobEventKeys(prefix: string, jobId: string): { events: string; status: string; notify: string } {
  const base = `${prefix}:job:{${jobId}}`;
  return { events: `${base}:events`, status: `${base}:status`, notify: `${base}:notify` };
}

/**
 * The keys that find jobs by owner. They are written in the same MULTI as a job's own keys, so on a
 * Redis Cluster the prefix must carry a hash tag (`{tinyb}`), as BullMQ's keys already require.
 */
export const jobIndexKeys = {
  /** Every job, newest last (see job-index-entry). */
  all: (prefix: string): string => `${prefix}:jobs:index`,
  /** One tenant's jobs. */
  tenant: (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:jobs`,
  /** Sorted set of the tenant's queued or running job ids, scored by when they took their slot. */
  active: (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:active`,
};
