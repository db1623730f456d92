import type { JobError, JobEvent, JobResult, JobState, PullRequestRef, Step, ToolInputView, Usage } from '@tinyb/contracts';

export interface StepEntry {
  kind: 'step';
  key: string;
  step: Step;
  state: 'running' | 'completed' | 'failed';
  at: string;
  durationMs?: number;
  detail?: string;
  error?: JobError;
}
export interface MessageEntry {
  kind: 'message';
  key: string;
  at: string;
  text: string;
}
export interface ToolEntry {
  kind: 'tool';
  key: string;
  at: string;
  tool: string;
  callId?: string;
  input: ToolInputView;
  result?: { ok: boolean; output: string };
}
export interface NoteEntry {
  kind: 'note';
  key: string;
  at: string;
  tone: 'info' | 'success' | 'warning' | 'error';
  text: string;
  href?: string;
}
export type TimelineEntry = StepEntry | MessageEntry | ToolEntry | NoteEntry;

/** What the job page shows, folded from the job's events in stream order. */
export interface JobTimeline {
  state: JobState;
  cancelRequested: boolean;
  attempt: number;
  repoUrl?: string;
  agent?: string;
  baseBranch?: string;
  draft?: boolean;
  queuedAt?: string;
  finishedAt?: string;
  entries: TimelineEntry[];
  usage?: Usage;
  pr?: PullRequestRef & { reused: boolean };
  result?: JobResult;
  error?: JobError;
  /** Events folded in so far, and the last one's stream id (where a reconnect resumes). */
  eventCount: number;
  lastEventId?: string;
}

export const EMPTY_TIMELINE: JobTimeline = { state: 'queued', cancelRequested: false, attempt: 0, entries: [], eventCount: 0 };

/**
 * Folds one event into the timeline, returning a new one (the page keeps the old for rendering until then).
 * Each event is folded exactly once: the stream resumes after `lastEventId`, so nothing is deduplicated here,
 * and a repeated event would show as a repeated row.
 */
export function foldEvent(timeline: JobTimeline, id: string, event: JobEvent): JobTimeline {
  const next: JobTimeline = { ...timeline, eventCount: timeline.eventCount + 1, lastEventId: id };
  const add = (entry: TimelineEntry) => (next.entries = [...timeline.entries, entry]);
  const note = (tone: NoteEntry['tone'], text: string, href?: string) =>
    add({ kind: 'note', key: id, at: event.at, tone, text, ...(href === undefined ? {} : { href }) });
  switch (event.type) {
    case 'job.queued':
      Object.assign(next, {
        repoUrl: event.repoUrl,
        agent: event.agent,
        draft: event.draft,
        queuedAt: event.at,
        ...(event.baseBranch === undefined ? {} : { baseBranch: event.baseBranch }),
      });
      note('info', `Queued for ${event.agent}`);
      break;
    case 'job.started':
      next.state = 'running';
      next.attempt = event.attempt;
      note('info', `Attempt ${event.attempt} started on ${event.workerId}`);
      break;
    case 'job.recovered':
      note('warning', `The worker of attempt ${event.attempt} was lost; another worker took the job over`);
      break;
    case 'job.cancel_requested':
      next.cancelRequested = true;
      note('warning', 'Cancel requested');
      break;
    case 'job.retrying':
      note('warning', `Attempt ${event.attempt} failed (${event.error.code}: ${event.error.message}); retrying in ${Math.round(event.delayMs / 1000)} s`);
      break;
    case 'step.started':
      add({ kind: 'step', key: id, step: event.step, state: 'running', at: event.at });
      break;
    case 'step.completed':
    case 'step.failed':
      next.entries = settleStep(timeline.entries, event);
      break;
    case 'agent.message':
      add({ kind: 'message', key: id, at: event.at, text: event.text });
      break;
    case 'agent.tool_call':
      add({
        kind: 'tool',
        key: id,
        at: event.at,
        tool: event.tool,
        input: event.input,
        ...(event.callId === undefined ? {} : { callId: event.callId }),
      });
      break;
    case 'agent.tool_result':
      next.entries = attachToolResult(timeline.entries, event);
      break;
    case 'agent.usage':
      next.usage = usageOf(event);
      break;
    case 'git.committed':
      note('info', `Committed ${event.sha.slice(0, 7)} on ${event.branch} (${plural(event.filesChanged.length, 'file')})`);
      break;
    case 'pr.created':
      next.pr = { url: event.url, number: event.number, branch: event.branch, reused: event.reused };
      note('success', `Pull request #${event.number} ${event.reused ? 'updated' : 'opened'}`, event.url);
      break;
    case 'job.succeeded':
      next.state = 'succeeded';
      next.finishedAt = event.at;
      next.result = event.result;
      if (event.result.usage) next.usage = event.result.usage;
      note('success', event.result.outcome === 'pr_opened' ? `Succeeded: ${event.result.summary}` : `No changes: ${event.result.summary}`);
      break;
    case 'job.failed':
      next.state = 'failed';
      next.finishedAt = event.at;
      next.error = event.error;
      if (event.usage) next.usage = event.usage;
      note('error', `Failed (${event.error.code}): ${event.error.message}`);
      break;
    case 'job.cancelled':
      next.state = 'cancelled';
      next.finishedAt = event.at;
      if (event.usage) next.usage = event.usage;
      note('warning', event.step ? `Cancelled during ${event.step}` : 'Cancelled');
      break;
    default:
      // An event this console does not know yet (a newer API): shown by its type, so nothing goes missing.
      note('info', (event as { type: string }).type);
  }
  return next;
}

/** The running entry of the same step (the latest, since a retried job runs its steps again) gets its end. */
function settleStep(entries: TimelineEntry[], event: Extract<JobEvent, { type: 'step.completed' | 'step.failed' }>): TimelineEntry[] {
  const index = findLastIndex(entries, (e) => e.kind === 'step' && e.step === event.step && e.state === 'running');
  const ended: Partial<StepEntry> =
    event.type === 'step.completed'
      ? { state: 'completed', durationMs: event.durationMs, ...(event.detail === undefined ? {} : { detail: event.detail }) }
      : { state: 'failed', durationMs: event.durationMs, error: event.error };
  if (index < 0) {
    // Started before this page's stream began (never, since the stream replays from the start), or lost.
    return [...entries, { kind: 'step', key: `${event.step}@${event.at}`, step: event.step, at: event.at, state: 'running', ...ended }];
  }
  return entries.map((e, i) => (i === index ? ({ ...e, ...ended } as StepEntry) : e));
}

/** A result belongs to the call with its callId, or else to the latest call still waiting for one. */
function attachToolResult(entries: TimelineEntry[], event: Extract<JobEvent, { type: 'agent.tool_result' }>): TimelineEntry[] {
  const index = findLastIndex(
    entries,
    (e) => e.kind === 'tool' && e.result === undefined && (event.callId === undefined || e.callId === undefined || e.callId === event.callId),
  );
  if (index < 0) return entries;
  return entries.map((e, i) => (i === index ? { ...(e as ToolEntry), result: { ok: event.ok, output: event.output } } : e));
}

function usageOf(event: Usage): Usage {
  return {
    inputTokens: event.inputTokens,
    outputTokens: event.outputTokens,
    ...(event.costUsd === undefined ? {} : { costUsd: event.costUsd }),
  };
}

function findLastIndex<T>(items: readonly T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i]!)) return i;
  return -1;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
