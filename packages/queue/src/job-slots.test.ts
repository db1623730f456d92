import { JobSlots } from './job-slots.js';

describe('JobSlots', () => {
  it('grants up to its size at once, then serves waiters in order as slots come back', async () => {
    const slots = new JobSlots(2);
    expect(await slots.acquire()).toBe(true);
    expect(await slots.acquire()).toBe(true);
    const order: string[] = [];
    const first = slots.acquire().then((granted) => order.push(`first:${granted}`));
    const second = slots.acquire().then((granted) => order.push(`second:${granted}`));
    await Promise.resolve();
    expect(order).toEqual([]);
    slots.release();
    await first;
    expect(order).toEqual(['first:true']);
    expect(slots.inUse).toBe(2);
    slots.release();
    await second;
    expect(order).toEqual(['first:true', 'second:true']);
    slots.release();
    slots.release();
    expect(slots.inUse).toBe(0);
    slots.release();
    expect(slots.inUse).toBe(0); // never more free slots than its size
  });

  it('answers waiters and later callers false once closed', async () => {
    const slots = new JobSlots(1);
    await slots.acquire();
    const waiting = slots.acquire();
    slots.close();
    await expect(waiting).resolves.toBe(false);
    await expect(slots.acquire()).resolves.toBe(false);
  });

  it('refuses a size below one', () => {
    expect(() => new JobSlots(0)).toThrow(/positive integer/);
  });
});
