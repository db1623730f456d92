import { isTerminalEvent } from '@tinyb/contracts';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, describeError, type ConsoleApi } from './console-api.js';
import { EMPTY_TIMELINE, foldEvent, type JobTimeline } from './job-timeline.js';

export type Connection = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed';

const RECONNECT_DELAY_MS = 1_000;

/**
 * Follows a job's event stream into a timeline until its terminal event. A dropped connection (network, an
 * API restart) resumes after the last event folded in, sent as `Last-Event-ID`, so nothing is lost or shown
 * twice. A reload starts over from the first event, which the API keeps.
 */
export function useJobTimeline(api: ConsoleApi, jobId: string): { timeline: JobTimeline; connection: Connection; error?: string } {
  const [timeline, setTimeline] = useState<JobTimeline>(EMPTY_TIMELINE);
  const [connection, setConnection] = useState<Connection>('connecting');
  const [error, setError] = useState<string | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let current = EMPTY_TIMELINE;
    setTimeline(current);
    setConnection('connecting');
    setError(undefined);

    const follow = async () => {
      while (!signal.aborted) {
        let delayMs = RECONNECT_DELAY_MS;
        try {
          const afterId = current.lastEventId;
          for await (const { id, event } of api.events(jobId, { ...(afterId ? { afterId } : {}), signal })) {
            current = foldEvent(current, id, event);
            setTimeline(current);
            setConnection('live');
            if (isTerminalEvent(event)) {
              setConnection('ended');
              return;
            }
          }
        } catch (err) {
          if (signal.aborted) return;
          // The API answered, and no retry changes its answer (unknown job, no key): say so and stop.
          if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
            setError(describeError(err));
            setConnection('failed');
            return;
          }
          // A loaded API sheds new streams (503) and says when to come back: every console waits that long.
          if (err instanceof ApiError && err.status === 503 && err.retryAfterSeconds !== undefined) delayMs = err.retryAfterSeconds * 1000;
        }
        setConnection('reconnecting');
        await sleep(delayMs, signal);
      }
    };
    void follow();
    return () => controller.abort();
  }, [api, jobId]);

  return { timeline, connection, ...(error === undefined ? {} : { error }) };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
