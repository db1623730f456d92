import type { JobState } from '@tinyb/contracts';

/** A job's state as a coloured word; `cancelling` is a running job whose cancel was asked for. */
export function StateBadge(props: { state: JobState | 'cancelling' }) {
  return (
    <span class={`badge badge-${props.state}`} data-state={props.state}>
      {props.state}
    </span>
  );
}
