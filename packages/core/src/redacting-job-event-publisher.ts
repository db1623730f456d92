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

  /**
   * `events` with its `publish` redacting, every other role it plays (subscriber, status reader, …) untouched:
   * for a composition root that hands one object playing several roles to an app.
   */
  static around<Events extends JobEventPublisher>(events: Events, redactor: Redactor): Events {
    const publisher = new RedactingJobEventPublisher(events, redactor);
    return new Proxy(events, {
      get(target, property) {
        if (property === 'publish') return publisher.publish.bind(publisher);
        const value: unknown = Reflect.get(target, property, target);
        // Bound to the real object, so its methods reach their own (private) fields.
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
