import { formatAge, formatJobList } from './format-job-list.js';

const now = new Date('2025-01-02T12:00:00Z');

describe('formatJobList', () => {
  it('prints one aligned row per job under a header, with age and PR', () => {
    const text = formatJobList(
      [
        { id: 'job-1', state: 'succeeded', agent: 'claude-code', repoUrl: 'https://github.com/acme/app', createdAt: '2025-01-02T11:55:00Z', finishedAt: '2025-01-02T11:58:00Z', prUrl: 'https://github.com/acme/app/pull/7', tenant: 'alice' },
        { id: 'job-22', state: 'queued', agent: 'gemini', repoUrl: 'https://github.com/acme/lib', createdAt: '2025-01-02T11:59:30Z', finishedAt: null, prUrl: null, tenant: 'alice' },
      ],
      now,
    );
    expect(text.split('\n')).toEqual([
      'ID      STATE      AGENT        AGE  REPO                 PR',
      'job-1   succeeded  claude-code  5m   github.com/acme/app  https://github.com/acme/app/pull/7',
      'job-22  queued     gemini       30s  github.com/acme/lib  -',
    ]);
  });
});

describe('formatAge', () => {
  it.each([
    ['2025-01-02T11:59:59Z', '1s'],
    ['2025-01-02T11:00:00Z', '1h'],
    ['2024-12-30T12:00:00Z', '3d'],
    ['2025-01-02T12:00:05Z', '0s'],
  ])('%s → %s', (iso, age) => {
    expect(formatAge(iso, now)).toBe(age);
  });
});
