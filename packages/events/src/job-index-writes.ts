import { isTerminalEvent, type JobEvent } from '@tinyb/contracts';
import { jobIndexKeys } from './job-event-keys.js';
import { indexEntry, timePrefix } from './job-index-entry.js';

export interface IndexWriteContext {
  prefix: string;
  /** The job's tenant, for a terminal event (read from its status before the transaction). */
  owner: string | undefined;
  nowMs: number;
  /** How long a job's keys can live at most; index entries older than this point at nothing. */
  horizonMs: number;
  /** Expiry of a tenant's active set, pushed forward by each write: an idle tenant's set goes away. */
  activeTtlMs: number;
}

/**
 * What the listing and the active-job count need from an event, as data (`[command, ...args]`): `job.queued`
 * enters the job in the indexes and takes its tenant's active slot; a terminal event frees the slot. Run in the
 * same MULTI as the event (or the enqueue's script, see StagedWrites), they can never disagree with the log.
 */
export function indexWriteCommands(event: JobEvent, ctx: IndexWriteContext): string[][] {
  const commands: string[][] = [];
  if (event.type === 'job.queued') {
    const entry = indexEntry(Date.parse(event.at), event.jobId);
    const stale = `(${timePrefix(ctx.nowMs - ctx.horizonMs)}`;
    const all = jobIndexKeys.all(ctx.prefix);
    commands.push(['zadd', all, '0', entry], ['zremrangebylex', all, '-', stale]);
    if (event.tenant !== undefined) {
      const own = jobIndexKeys.tenant(ctx.prefix, event.tenant);
      const active = jobIndexKeys.active(ctx.prefix, event.tenant);
      commands.push(['zadd', own, '0', entry], ['zremrangebylex', own, '-', stale], ['pexpire', own, String(ctx.horizonMs)]);
      // NX keeps the score of a slot claimed just before (ActiveJobSlots.claimActiveSlot).
      commands.push(['zadd', active, 'NX', String(ctx.nowMs), event.jobId], ['pexpire', active, String(ctx.activeTtlMs)]);
    }
  } else if (isTerminalEvent(event) && ctx.owner !== undefined) {
    commands.push(['zrem', jobIndexKeys.active(ctx.prefix, ctx.owner), event.jobId]);
  }
  return commands;
}

/** The status field that names a job's owner, as stored (JSON), decoded; undefined when absent. */
export function ownerFromStatusField(raw: string | null): string | undefined {
  if (raw === null) return undefined;
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

