import type { JobEvent } from '@tinyb/contracts';

/**
 * The original Tiny Backspace stream vocabulary (`POST /code`), kept for its existing clients.
 * This file is the only place that knows it.
 */
export type LegacyFrame =
  | { type: 'progress'; stage: string; message: string }
  | { type: 'AI Message'; message: string }
  | { type: 'Tool: Read'; filepath: string }
  | { type: 'Tool: Edit'; filepath: string; old_str: string; new_str: string }
  | { type: 'Tool: Write'; filepath: string }
  | { type: 'Tool: Bash'; command: string; output: string }
  | { type: 'pr_created'; pr_url: string; branch_name: string; files_changed: string[]; summary: string }
  | { type: 'error'; message: string }
  | { type: 'complete'; pr_url: string | null; summary: string };

type LegacyTool = 'Read' | 'Edit' | 'Write' | 'Bash';

// Each agent CLI names its tools its own way; the legacy vocabulary knows four.
const LEGACY_TOOL: Record<string, LegacyTool | undefined> = {
  Read: 'Read',
  read_file: 'Read',
  Edit: 'Edit',
  MultiEdit: 'Edit',
  replace: 'Edit',
  edit_file: 'Edit',
  Write: 'Write',
  write_file: 'Write',
  Bash: 'Bash',
  run_shell_command: 'Bash',
  run_command: 'Bash',
};

const STEP_MESSAGES: Record<string, string> = {
  create_sandbox: 'Creating sandbox',
  clone: 'Cloning repository',
  run_agent: 'Running coding agent',
  run_checks: 'Running checks',
  fix_checks: 'Coding agent fixing failed checks',
  commit: 'Committing changes',
  push_branch: 'Pushing branch',
  open_pr: 'Opening pull request',
  destroy_sandbox: 'Cleaning up sandbox',
};

/**
 * Translates one job's events, in order, into legacy frames. Stateful because the legacy `Tool: Bash`
 * frame carries both the command and its output, which arrive as two events.
 */
export class LegacyTranslator {
  private readonly pendingBash = new Map<string, string>();

  translate(event: JobEvent): LegacyFrame[] {
    switch (event.type) {
      case 'job.queued':
        return [{ type: 'progress', stage: 'queued', message: 'Job queued' }];
      case 'job.started':
        return [{ type: 'progress', stage: 'started', message: `Job started (attempt ${event.attempt})` }];
      case 'job.retrying':
        return [{ type: 'progress', stage: 'retrying', message: `Attempt ${event.attempt} failed (${event.error.message}); retrying` }];
      case 'job.recovered':
        return [{ type: 'progress', stage: 'recovered', message: `Attempt ${event.attempt} lost its worker; another worker took over` }];
      case 'job.cancel_requested':
        return [{ type: 'progress', stage: 'cancelling', message: 'Cancellation requested' }];
      case 'step.started':
        return [{ type: 'progress', stage: event.step, message: STEP_MESSAGES[event.step] ?? event.step }];
      case 'agent.message':
        return [{ type: 'AI Message', message: event.text }];
      case 'agent.tool_call':
        return this.toolCall(event);
      case 'agent.tool_result': {
        const command = event.callId === undefined ? undefined : this.pendingBash.get(event.callId);
        if (command === undefined || event.callId === undefined) return [];
        this.pendingBash.delete(event.callId);
        return [{ type: 'Tool: Bash', command, output: event.output }];
      }
      case 'job.succeeded': {
        const { result } = event;
        const frames: LegacyFrame[] = [];
        if (result.pr) {
          frames.push({
            type: 'pr_created',
            pr_url: result.pr.url,
            branch_name: result.pr.branch,
            files_changed: result.filesChanged.map((f) => f.path),
            summary: result.summary,
          });
        }
        frames.push({ type: 'complete', pr_url: result.pr?.url ?? null, summary: result.summary });
        return frames;
      }
      case 'checks.started':
        return [{ type: 'progress', stage: 'run_checks', message: `Checks: ${event.commands.join(', ')}` }];
      case 'check.completed':
        return [{ type: 'progress', stage: 'run_checks', message: `${event.passed ? 'Passed' : 'Failed'}: ${event.command} (${describeCheckEnd(event)})` }];
      case 'job.failed':
        return [{ type: 'error', message: event.error.message }];
      case 'job.cancelled':
        return [{ type: 'error', message: 'job was cancelled' }];
      case 'step.completed':
      case 'step.failed':
      case 'agent.usage':
      case 'git.committed':
      case 'pr.created':
        return [];
    }
  }

  private toolCall(event: Extract<JobEvent, { type: 'agent.tool_call' }>): LegacyFrame[] {
    const { input } = event;
    // Tool names come from agent output: an own-property lookup, so `toString` or `__proto__` is just an unknown tool.
    switch (Object.hasOwn(LEGACY_TOOL, event.tool) ? LEGACY_TOOL[event.tool] : undefined) {
      case 'Read':
        return [{ type: 'Tool: Read', filepath: input.path ?? '' }];
      case 'Write':
        return [{ type: 'Tool: Write', filepath: input.path ?? '' }];
      case 'Edit':
        return [{ type: 'Tool: Edit', filepath: input.path ?? '', old_str: input.oldText ?? '', new_str: input.newText ?? '' }];
      case 'Bash':
        // Held back until its output arrives; a call without an id cannot be paired, so it goes out now.
        if (event.callId === undefined) return [{ type: 'Tool: Bash', command: input.command ?? '', output: '' }];
        this.pendingBash.set(event.callId, input.command ?? '');
        return [];
      case undefined:
        return [{ type: 'progress', stage: 'run_agent', message: `Tool: ${event.tool}` }];
    }
  }
}

function describeCheckEnd(event: Extract<JobEvent, { type: 'check.completed' }>): string {
  if (event.timedOut) return `timed out after ${Math.round(event.durationMs / 1000)} s`;
  return event.exitCode === null ? 'not run' : `exit ${event.exitCode}`;
}
