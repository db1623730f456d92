import { describeEnd } from './check-fix-prompt.js';
import type { ChecksReport } from './run-checks-with-fixes.js';

/** The line a pull request whose checks fail opens with, so nobody merges it by mistake. */
export function checksWarning(report: ChecksReport): string | undefined {
  if (report.passed) return undefined;
  const failed = report.runs.filter((r) => !r.passed).length;
  const rounds = report.fixRounds === 0 ? '' : ` after ${report.fixRounds} fix round${report.fixRounds === 1 ? '' : 's'}`;
  return `> [!WARNING]\n> **The repository's checks fail on this change** (${failed} of ${report.runs.length} failed${rounds}), so it is opened as a draft. See [Checks](#checks).`;
}

/** The `## Checks` section: one table row per check as it last ran. */
export function checksSection(report: ChecksReport): string {
  const rows = report.runs.map(
    (r) => `| \`${cell(r.command)}\` | ${r.passed ? '✅ passed' : `❌ ${describeEnd(r)}`} | ${formatDuration(r.durationMs)} |`,
  );
  const rounds =
    report.fixRounds === 0
      ? ''
      : `\n\nThe agent had ${report.fixRounds} fix round${report.fixRounds === 1 ? '' : 's'} after the first run of the checks.`;
  return ['## Checks', '', '| Command | Outcome | Duration |', '| --- | --- | --- |', ...rows].join('\n') + rounds;
}

/** A table cell: a pipe would end it, and backticks would end the code span. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/`/g, "'");
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
