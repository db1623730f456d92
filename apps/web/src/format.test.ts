import { formatAge, formatCost, formatDuration, repoName, safeHref } from './format.js';

describe('formatters', () => {
  it('names durations in the unit that reads best', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2 min 05 s');
  });

  it('says how long ago a time was', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(formatAge('2026-01-01T11:59:48Z', now)).toBe('12 s ago');
    expect(formatAge('2026-01-01T11:57:00Z', now)).toBe('3 min ago');
    expect(formatAge('2026-01-01T07:00:00Z', now)).toBe('5 h ago');
    expect(formatAge('2025-12-30T12:00:00Z', now)).toBe('2 d ago');
  });

  it('shows small costs with enough digits to be seen', () => {
    expect(formatCost(0.0123)).toBe('$0.01');
    expect(formatCost(0.00042)).toBe('$0.0004');
    expect(formatCost(3.5)).toBe('$3.50');
  });

  it('links only http(s) URLs', () => {
    expect(safeHref('https://github.com/acme/app/pull/1')).toBe('https://github.com/acme/app/pull/1');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,hi')).toBeUndefined();
    expect(safeHref('not a url')).toBeUndefined();
    expect(safeHref(null)).toBeUndefined();
  });

  it('names a repository by owner and name', () => {
    expect(repoName('https://github.com/acme/app.git')).toBe('acme/app');
    expect(repoName('http://127.0.0.1:4000/acme/app')).toBe('acme/app');
    expect(repoName('weird')).toBe('weird');
  });
});
