import { jobEventsContract } from '@tinyb/testkit/job-events-contract';
import { InMemoryJobEvents } from './in-memory-job-events.js';

jobEventsContract('InMemoryJobEvents', () => {
  const events = new InMemoryJobEvents();
  return { events, directory: events, close: () => events.close() };
});

describe('InMemoryJobEvents', () => {
  it('keeps ids increasing within one millisecond', async () => {
    const events = new InMemoryJobEvents({ now: () => new Date(1_700_000_000_000) });
    const ids = [await events.publish('j', { type: 'agent.message', text: 'a' }), await events.publish('k', { type: 'agent.message', text: 'b' })];
    expect(ids).toEqual(['1700000000000-0', '1700000000000-1']);
  });

  it('ends live followers on close', async () => {
    const events = new InMemoryJobEvents();
    const reading = (async () => {
      const out = [];
      for await (const e of events.subscribe('j', { signal: new AbortController().signal })) out.push(e);
      return out;
    })();
    await events.close();
    await expect(reading).resolves.toEqual([]);
  });
});
