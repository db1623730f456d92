import type { Usage } from '@tinyb/contracts';
import type { StepContext } from './step-context.js';
import type { Sandbox } from './sandbox.js';

export interface AgentRunInput {
  sandbox: Sandbox;
  /** The repository checkout, inside the sandbox. */
  workdir: string;
  /** A directory inside the sandbox the agent may use for HOME, caches and temp files (outside the repo). */
  scratchDir: string;
  prompt: string;
  model?: string;
  timeoutMs: number;
  maxTurns: number;
}

/**
 * What the agent says it did. Whether anything changed is not the agent's word: the pipeline reads
 * the diff out of the sandbox afterwards.
 */
export interface AgentRunResult {
  summary: string;
  usage?: Usage;
}

/**
 * A coding agent CLI (or loop) that edits a checkout in a sandbox. It streams what it does as
 * `agent.*` events through `ctx.emit` while it runs, and throws AppError `agent_failed`,
 * `agent_timeout` or `agent_max_turns` when it does not finish its work.
 */
export interface CodingAgent {
  /** `claude-code`, `gemini`, … : what a job names in `agent`. */
  readonly name: string;
  /** Host paths the agent's CLI needs inside a local sandbox (see SandboxSpec.toolPaths). */
  readonly toolPaths: string[];
  run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult>;
}
