import { blockEventLoop } from '@tinyb/testkit/event-loop';
import { RedisFixture } from '@tinyb/testkit/redis';
import { recordingLogger } from '@tinyb/testkit/recording-logger';
import { NotificationHub } from './notification-hub.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('NotificationHub notification check (real Redis)', () => {
  let fixture: RedisFixture;
  let hub: NotificationHub | undefined;

  beforeEach(() => {
    fixture = new RedisFixture('hub');
  });
  afterEach(async () => {
    hub?.detach();
    await fixture.cleanup();
  });

  it('does not take a process that was busy past the timeout for a silent subscriber', async () => {
    const lines: string[] = [];
    const publisher = fixture.connect();
    let readies = 0;
    let blocked = 0;
    hub = new NotificationHub(
      () => {
        const subscriber = fixture.connect();
        subscriber.on('ready', () => readies++);
        return subscriber;
      },
      recordingLogger(lines),
      {
        intervalMs: 200,
        timeoutMs: 20,
        channelPrefix: `${fixture.prefix}:check`,
        // The check goes out, and the loop is busy for 100 ms before it can read anything: the reply is in the
        // subscriber's socket by then, but the check's 20 ms timeout is due first when the loop comes back.
        publish: (channel, message) => {
          void publisher.publish(channel, message);
          setImmediate(() => {
            blockEventLoop(100);
            blocked++;
          });
          return Promise.resolve();
        },
      },
    );
    const leave = await hub.join(`${fixture.prefix}:some-job`, () => undefined);
    await sleep(1_100);
    await leave();
    expect(blocked).toBeGreaterThanOrEqual(3);
    expect(lines.filter((l) => l.includes('stopped arriving'))).toEqual([]);
    expect(readies).toBe(1);
  });
});
