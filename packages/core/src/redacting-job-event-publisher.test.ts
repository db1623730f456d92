import type { NewJobEvent } from '@tinyb/contracts';
import type { JobEventPublisher } from './ports/job-events.js';
import { RedactingJobEventPublisher } from './redacting-job-event-publisher.js';
import { Redactor } from './redactor.js';

const SECRET = 'canary-Vv7pQ2mZ9rT4wX1y';

describe('RedactingJobEventPublisher', () => {
  it('hands the wrapped publisher only redacted events, and returns its stream id', async () => {
    const stored: { jobId: string; event: NewJobEvent }[] = [];
    const inner: JobEventPublisher = {
      async publish(jobId, event) {
        stored.push({ jobId, event });
        return `${stored.length}-0`;
      },
    };
    const redactor = new Redactor();
    redactor.add(SECRET);
    const publisher = new RedactingJobEventPublisher(inner, redactor);

    const id = await publisher.publish('job-1', { type: 'agent.tool_result', tool: 'Bash', ok: true, output: `KEY=${SECRET}\nok` });
    await publisher.publish('job-1', { type: 'job.failed', error: { code: 'internal', message: `boom ${SECRET}` } });

    expect(id).toBe('1-0');
    expect(stored.map((s) => s.jobId)).toEqual(['job-1', 'job-1']);
    expect(JSON.stringify(stored)).not.toContain(SECRET);
    expect(stored[0]!.event).toMatchObject({ type: 'agent.tool_result', output: 'KEY=[REDACTED:secret]\nok' });
    expect(stored[1]!.event).toMatchObject({ error: { code: 'internal', message: 'boom [REDACTED:secret]' } });
  });
});

describe('RedactingJobEventPublisher.around', () => {
  class EventsWithPrivateState implements JobEventPublisher {
    readonly #stored: NewJobEvent[] = [];
    async publish(_jobId: string, event: NewJobEvent): Promise<string> {
      this.#stored.push(event);
      return `${this.#stored.length}-0`;
    }
    async history(): Promise<NewJobEvent[]> {
      return [...this.#stored];
    }
  }

  it('redacts through publish and leaves every other method working on the real object', async () => {
    const redactor = new Redactor();
    redactor.add(SECRET);
    const events = RedactingJobEventPublisher.around(new EventsWithPrivateState(), redactor);

    expect(await events.publish('job-1', { type: 'job.failed', error: { code: 'internal', message: `key ${SECRET}` } })).toBe('1-0');
    const history = await events.history();
    expect(history).toEqual([{ type: 'job.failed', error: { code: 'internal', message: 'key [REDACTED:secret]' } }]);
  });
});
