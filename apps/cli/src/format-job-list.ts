import type { JobSummary } from '@tinyb/contracts';

/** How long ago, in the largest unit that fits: `45s`, `12m`, `3h`, `2d`. */
export function formatAge(fromIso: string, now: Date): string {
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(fromIso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** `tinyb list`: one aligned row per job (id, state, agent, age, repo, PR), under a header. */
export function formatJobList(jobs: JobSummary[], now: Date = new Date()): string {
  const rows = [
    ['ID', 'STATE', 'AGENT', 'AGE', 'REPO', 'PR'],
    ...jobs.map((j) => [j.id, j.state, j.agent, formatAge(j.createdAt, now), j.repoUrl.replace(/^https?:\/\//, ''), j.prUrl ?? '-']),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')).join('\n');
}
