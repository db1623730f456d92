import type { NewJobEvent } from '@tinyb/contracts';
import type { JobEventPublisher } from './ports/job-events.js';
import type { Redactor } from './redactor.js';

/**
 * A JobEventPublisher that redacts every event (each string in it) before the wrapped one stores it: events
 * are read by every SSE client of the job and kept in Redis, and agent events carry whatever the agent printed.
 */
export class RedactingJobEventPublisher implements JobEventPublisher {
  constructor(
    private readonly inner: JobEventPublisher,
    private readonly redactor: Redactor,
  ) {}

  publish(jobId: string, event: NewJobEvent): Promise<string> {
    return this.inner.publish(jobId, this.redactor.redactValue(event));
  }
}
