import { truncateText } from './truncate-text.js';

describe('truncateText', () => {
  it('keeps short text and cuts long text to the limit, marked', () => {
    expect(truncateText('abc', 10)).toBe('abc');
    const cut = truncateText('x'.repeat(1000), 100);
    expect(cut.length).toBeLessThanOrEqual(100);
    expect(cut).toMatch(/more chars\]$/);
  });
});
