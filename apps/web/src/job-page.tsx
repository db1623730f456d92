import { useState } from 'preact/hooks';
import { describeError, type ConsoleApi } from './console-api.js';
import { formatCost, formatTokens, repoName, safeHref } from './format.js';
import { Link } from './link.js';
import { UI_BASE } from './route.js';
import { StateBadge } from './state-badge.js';
import { TimelineView } from './timeline-view.js';
import { useJobTimeline, type Connection } from './use-job-timeline.js';

/** `/ui/jobs/<id>`: one job, live: its state, PR, usage, error, a cancel button and the timeline. */
export function JobPage(props: { api: ConsoleApi; jobId: string }) {
  const { api, jobId } = props;
  const { timeline, connection, error } = useJobTimeline(api, jobId);
  const [cancelError, setCancelError] = useState<string | undefined>();
  const [cancelling, setCancelling] = useState(false);

  const ended = timeline.state === 'succeeded' || timeline.state === 'failed' || timeline.state === 'cancelled';
  const shownState = !ended && timeline.cancelRequested ? 'cancelling' : timeline.state;
  const prHref = safeHref(timeline.pr?.url);
  const repoHref = safeHref(timeline.repoUrl);

  const cancel = async () => {
    setCancelling(true);
    setCancelError(undefined);
    try {
      await api.cancel(jobId);
    } catch (err) {
      setCancelError(describeError(err));
    } finally {
      setCancelling(false);
    }
  };

  return (
    <div class="job-page">
      <p>
        <Link href={UI_BASE}>← All jobs</Link>
      </p>
      <section class="card job-head">
        <div class="section-head">
          <h1 class="mono">{jobId}</h1>
          <StateBadge state={shownState} />
        </div>
        {error ? (
          <p class="alert" role="alert">
            {error}
          </p>
        ) : (
          <dl class="facts">
            <dt>Repository</dt>
            <dd>{repoHref ? <a href={repoHref}>{repoName(timeline.repoUrl!)}</a> : '…'}</dd>
            <dt>Agent</dt>
            <dd>{timeline.agent ?? '…'}</dd>
            {timeline.baseBranch && (
              <>
                <dt>Base branch</dt>
                <dd>{timeline.baseBranch}</dd>
              </>
            )}
            <dt>Attempt</dt>
            <dd>{timeline.attempt || '—'}</dd>
            <dt>Usage</dt>
            <dd class="usage">
              {timeline.usage
                ? `${formatTokens(timeline.usage.inputTokens)} in · ${formatTokens(timeline.usage.outputTokens)} out` +
                  (timeline.usage.costUsd === undefined ? '' : ` · ${formatCost(timeline.usage.costUsd)}`)
                : '—'}
            </dd>
            <dt>Pull request</dt>
            <dd>
              {prHref ? (
                <a class="pr-link" href={prHref} target="_blank" rel="noopener noreferrer">
                  #{timeline.pr!.number} {timeline.pr!.branch}
                </a>
              ) : (
                '—'
              )}
            </dd>
            <dt>Stream</dt>
            <dd>
              <ConnectionLabel connection={connection} />
            </dd>
          </dl>
        )}
        {timeline.error && (
          <p class="alert job-error" role="alert">
            {timeline.error.code}: {timeline.error.message}
            {timeline.error.step ? ` (during ${timeline.error.step})` : ''}
          </p>
        )}
        {timeline.result && <p class="summary">{timeline.result.summary}</p>}
        {!ended && !error && (
          <button type="button" class="danger" onClick={cancel} disabled={cancelling || timeline.cancelRequested}>
            {timeline.cancelRequested ? 'Cancelling…' : 'Cancel job'}
          </button>
        )}
        {cancelError && (
          <p class="alert" role="alert">
            {cancelError}
          </p>
        )}
      </section>
      <section class="card">
        <h2>Timeline</h2>
        <div data-event-count={timeline.eventCount}>
          <TimelineView entries={timeline.entries} />
        </div>
      </section>
    </div>
  );
}

function ConnectionLabel({ connection }: { connection: Connection }) {
  const text: Record<Connection, string> = {
    connecting: 'connecting…',
    live: 'live',
    reconnecting: 'reconnecting…',
    ended: 'complete',
    failed: 'stopped',
  };
  return (
    <span class={`connection connection-${connection}`} data-connection={connection}>
      {text[connection]}
    </span>
  );
}
