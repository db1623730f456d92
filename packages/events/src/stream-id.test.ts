import { compareStreamIds, parseStreamId } from './stream-id.js';

describe('parseStreamId', () => {
  it('accepts full ids up to the 64-bit limit', () => {
    expect(parseStreamId('1700000000000-3')).toEqual({ ms: 1700000000000n, seq: 3n });
    expect(parseStreamId('18446744073709551615-18446744073709551615').seq).toBe(2n ** 64n - 1n);
  });

  it.each(['', '0', '1-', '-1', '1-2-3', 'a-b', ' 1-2', '18446744073709551616-0'])('refuses %j', (id) => {
    expect(() => parseStreamId(id)).toThrow(expect.objectContaining({ code: 'invalid_request' }));
  });
});

describe('compareStreamIds', () => {
  it('orders numerically, not as text', () => {
    expect(compareStreamIds('9-0', '10-0')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-10')).toBeLessThan(0);
    expect(compareStreamIds('10-2', '10-2')).toBe(0);
    expect(compareStreamIds('11-0', '10-99')).toBeGreaterThan(0);
  });
});
