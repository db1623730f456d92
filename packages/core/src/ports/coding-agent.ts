import type { UsageMeter } from '../pipeline/usage-meter.js';
import type { ModelEndpoint, ModelProvider } from './model-access.js';
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
  /** Where the agent reports its token usage and cost as it goes; it enforces the job's budget. */
  usage: UsageMeter;
  /**
   * This attempt's way to its model API (see `CodingAgent.modelProvider`): the base URL and key its CLI gets.
   * Behind the model gateway the key is a per-attempt token; without an endpoint the agent uses its own
   * configuration (tests, direct use).
   */
  modelEndpoint?: ModelEndpoint;
}

/**
 * What the agent says it did (its usage went to `AgentRunInput.usage` while it ran). Whether anything changed is not the agent's word: the pipeline reads
 * the diff out of the sandbox afterwards.
 */
export interface AgentRunResult {
  summary: string;
}

/**
 * A coding agent CLI (or loop) that edits a checkout in a sandbox. It streams what it does as
 * `agent.*` events through `ctx.emit` while it runs, and throws AppError `agent_failed`,
 * `agent_timeout`, `agent_max_turns` or `budget_exceeded` when it does not finish its work.
 */
export interface CodingAgent {
  /** `claude-code`, `gemini`, … : what a job names in `agent`. */
  readonly name: string;
  /**
   * The model API the agent's CLI calls from inside the sandbox, for which the pipeline hands it a
   * per-attempt endpoint. Absent for agents whose model calls leave from the worker itself.
   */
  readonly modelProvider?: ModelProvider;
  /** Host paths the agent's CLI needs inside a local sandbox (see SandboxSpec.toolPaths). */
  readonly toolPaths: string[];
  run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult>;
}
