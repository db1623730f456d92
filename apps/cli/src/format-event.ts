import type { JobEvent } from '@tinyb/contracts';

const oneLine = (text: string, max = 160) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** One human-readable line per event, for following a job in a terminal. */
export function formatEvent(event: JobEvent): string {
  const time = event.at.slice(11, 19);
  const line = (() => {
    switch (event.type) {
      case 'job.queued':
        return `queued: ${event.repoUrl} (agent ${event.agent})`;
      case 'job.started':
        return `started (attempt ${event.attempt}, worker ${event.workerId})`;
      case 'job.recovered':
        return `attempt ${event.attempt} lost its worker${event.previousWorkerId ? ` (${event.previousWorkerId})` : ''}; taken over`;
      case 'job.cancel_requested':
        return 'cancel requested';
      case 'job.retrying':
        return `attempt ${event.attempt} failed: ${event.error.code}: ${event.error.message}; retrying in ${Math.round(event.delayMs / 1000)} s`;
      case 'step.started':
        return `▸ ${event.step}`;
      case 'step.completed':
        return `✓ ${event.step} (${event.durationMs} ms)${event.detail ? `: ${event.detail}` : ''}`;
      case 'step.failed':
        return `✗ ${event.step}: ${event.error.code}: ${event.error.message}`;
      case 'agent.message':
        return `  agent: ${oneLine(event.text)}`;
      case 'agent.tool_call': {
        const { path, command, pattern } = event.input;
        return `  tool ${event.tool}: ${oneLine(path ?? command ?? pattern ?? '')}`;
      }
      case 'agent.tool_result':
        return `  ${event.ok ? 'ok' : 'error'}: ${oneLine(event.output, 100)}`;
      case 'agent.usage':
        return `  usage: ${event.inputTokens} in / ${event.outputTokens} out${event.costUsd === undefined ? '' : `, $${event.costUsd.toFixed(4)}`}`;
      case 'checks.started':
        return event.commands.length === 0
          ? '  checks: none found'
          : `  checks${event.round > 0 ? ` (after fix round ${event.round})` : ''}: ${oneLine(event.commands.join(', '))}`;
      case 'check.completed':
        return `  ${event.passed ? '✓' : '✗'} ${oneLine(event.command, 100)} (${checkEnd(event)}, ${formatDuration(event.durationMs)})`;
      case 'git.committed':
        return `committed ${event.sha.slice(0, 12)} (${event.filesChanged.length} file(s))`;
      case 'pr.created':
        return `pull request ${event.followUp ? 'updated' : event.reused ? 'reused' : 'opened'}: ${event.url}`;
      case 'job.succeeded':
        return event.result.pr
          ? `succeeded: ${event.result.pr.url}`
          : `succeeded with no changes: ${oneLine(event.result.summary)}`;
      case 'job.failed':
        return `failed: ${event.error.code}: ${event.error.message}`;
      case 'job.cancelled':
        return 'cancelled';
    }
  })();
  return `${time} ${line}`;
}

function checkEnd(event: Extract<JobEvent, { type: 'check.completed' }>): string {
  if (event.timedOut) return 'timed out';
  return event.exitCode === null ? 'not run' : `exit ${event.exitCode}`;
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
