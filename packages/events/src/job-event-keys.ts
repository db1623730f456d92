/**
 * The Redis keys of one job. The job id is a hash tag (`{id}`), so a job's stream and status hash live in
 * the same cluster slot and one MULTI can write both.
 */
export function jobEventKeys(prefix: string, jobId: string): { events: string; status: string; notify: string } {
  const base = `${prefix}:job:{${jobId}}`;
  return { events: `${base}:events`, status: `${base}:status`, notify: `${base}:notify` };
}
