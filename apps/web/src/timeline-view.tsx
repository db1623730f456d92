import type { ToolInputView } from '@tinyb/contracts';
import { formatDuration } from './format.js';
import type { TimelineEntry, ToolEntry } from './job-timeline.js';
import { lineDiff } from './line-diff.js';

/** The job's timeline, one row per entry; every row names the event (`data-event-id`) it started from. */
export function TimelineView(props: { entries: TimelineEntry[] }) {
  return (
    <ol class="timeline">
      {props.entries.map((entry) => (
        <li key={entry.key} class={`entry entry-${entry.kind}`} data-event-id={entry.key} data-kind={entry.kind}>
          <time class="at" dateTime={entry.at}>
            {new Date(entry.at).toLocaleTimeString()}
          </time>
          <div class="body">
            <EntryBody entry={entry} />
          </div>
        </li>
      ))}
    </ol>
  );
}

function EntryBody({ entry }: { entry: TimelineEntry }) {
  switch (entry.kind) {
    case 'step':
      return (
        <div class={`step step-${entry.state}`} data-step={entry.step} data-step-state={entry.state}>
          <span class="step-mark">{entry.state === 'completed' ? '✓' : entry.state === 'failed' ? '✗' : '…'}</span>
          <strong>{entry.step}</strong>
          {entry.durationMs !== undefined && <span class="duration">{formatDuration(entry.durationMs)}</span>}
          {entry.detail && <span class="muted"> {entry.detail}</span>}
          {entry.error && (
            <div class="error-text">
              {entry.error.code}: {entry.error.message}
            </div>
          )}
        </div>
      );
    case 'message':
      return <p class="message">{entry.text}</p>;
    case 'tool':
      return <ToolCall entry={entry} />;
    case 'note':
      return (
        <p class={`note note-${entry.tone}`}>
          {entry.href ? (
            <a href={entry.href} target="_blank" rel="noopener noreferrer">
              {entry.text}
            </a>
          ) : (
            entry.text
          )}
        </p>
      );
  }
}

function ToolCall({ entry }: { entry: ToolEntry }) {
  const { input } = entry;
  return (
    <div class="tool" data-tool={entry.tool}>
      <div class="tool-head">
        <span class="tool-name">{entry.tool}</span>
        {input.path && <code class="path">{input.path}</code>}
        {input.pattern && <code>{input.pattern}</code>}
        {entry.result && <span class={entry.result.ok ? 'ok' : 'error-text'}>{entry.result.ok ? 'ok' : 'failed'}</span>}
      </div>
      {input.command && <pre class="command">$ {input.command}</pre>}
      <EditDiff input={input} />
      {entry.result && entry.result.output && (
        <details class="tool-output">
          <summary>output</summary>
          <pre>{entry.result.output}</pre>
        </details>
      )}
    </div>
  );
}

/**
 * The change an Edit or Write asked for, as far as the event's bounded view carries it: old and new text
 * (a Write's content is never in events, so a Write shows only its path unless its view has new text).
 */
function EditDiff({ input }: { input: ToolInputView }) {
  if (input.oldText === undefined && input.newText === undefined) return null;
  const lines = lineDiff(input.oldText ?? '', input.newText ?? '');
  return (
    <pre class="diff">
      {lines.map((line) => (
        <div class={`diff-${line.op}`}>
          {line.op === 'removed' ? '-' : line.op === 'added' ? '+' : ' '} {line.text}
        </div>
      ))}
    </pre>
  );
}
