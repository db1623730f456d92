import { JobEvent, JobStatus, type NewJobEvent } from '@tinyb/contracts';
import { AppError, statusPatchFor } from '@tinyb/core';

/**
 * Stamps `jobId` and `at` on a producer's event and validates it, so nothing malformed ever enters a log.
 * A malformed event is a bug in the producer, not a blip: not retryable.
 */
export function stampEvent(jobId: string, input: NewJobEvent, now: Date): JobEvent {
  const parsed = JobEvent.safeParse({ ...input, jobId, at: now.toISOString() });
  if (!parsed.success) {
    throw new AppError('internal', `invalid job event ${input.type}: ${parsed.error.message}`, {
      retryable: false,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * The status patch of an event as hash fields, each value JSON: a store sets them blindly (HSET), so the
 * status is updated with the event's append and never needs a read-modify-write.
 */
export function statusFieldsFor(event: JobEvent): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [name, value] of Object.entries(statusPatchFor(event))) {
    if (value !== undefined) fields[name] = JSON.stringify(value);
  }
  return fields;
}

/**
 * Folds stored status fields back into a JobStatus. No `id` field means the job was never queued (or its
 * status expired): null. Anything else that does not parse is corruption and throws.
 */
export function decodeStatus(jobId: string, fields: Record<string, string>): JobStatus | null {
  if (fields['id'] === undefined) return null;
  const raw: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    try {
      raw[name] = JSON.parse(value);
    } catch (cause) {
      throw new AppError('internal', `job ${jobId} has a corrupt status field ${name}`, { cause });
    }
  }
  const parsed = JobStatus.safeParse(raw);
  if (!parsed.success) {
    throw new AppError('internal', `job ${jobId} has an invalid status: ${parsed.error.message}`, { cause: parsed.error });
  }
  return parsed.data;
}

/** Parses a stored event (JSON text); undefined when it is not a JobEvent this version understands. */
export function decodeEvent(json: string): JobEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = JobEvent.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
