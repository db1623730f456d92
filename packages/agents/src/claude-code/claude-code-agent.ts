import { realpathSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { AppError, type AgentRunInput, type AgentRunResult, type CodingAgent, type StepContext } from '@tinyb/core';
import { runNdjsonCli } from '../run-ndjson-cli.js';
import { truncateText } from '../truncate-text.js';
import { ClaudeUsageTally, createClaudeLineMapper } from './map-stream-json-line.js';
import { ClaudeStreamLine, type ClaudeResultLine } from './stream-json-line.js';

export interface ClaudeCodeAgentOptions {
  /**
   * Absolute host path of the native `claude` binary (see resolveClaudeExecutable), or a bare command name
   * (`claude`) that the sandbox image has on its PATH.
   */
  executable: string;
  /**
   * Used only when a run brings no `modelEndpoint` (direct use, tests): the worker always hands each
   * attempt an endpoint from its ModelAccess, so the operator's key never has to be here.
   */
  apiKey?: string;
  /** ANTHROPIC_BASE_URL for runs without a `modelEndpoint`: a fake in tests. */
  baseUrl?: string;
  /** Used when a job names no model; without either the CLI picks its own default. */
  defaultModel?: string;
  /** Extra environment for the CLI (proxy settings, …). Applied last, so it can override the defaults. */
  extraEnv?: Record<string, string>;
  /** The CLI's own retries of a failed API call; the queue retries the job on top of that. */
  maxApiRetries?: number;
}

/** HTTP statuses after which trying the job again later may well succeed (overloaded, rate-limited, 5xx). */
function isRetryableApiStatus(status: number | null | undefined): boolean {
  return status != null && (status === 429 || status >= 500);
}

/**
 * What the CLI reports, with no status, when the network failed under a call: a reply cut mid-stream (found by
 * `pnpm soak`: "API returned an empty or malformed response (HTTP 200)", and the CLI does not retry it), a reset
 * or a timeout. Transient like a 5xx, so the job is tried again rather than failed.
 */
const TRANSIENT_API_FAILURE = /^API Error: (API returned an empty or malformed response|Connection error|Request timed out)|ECONNRESET|socket hang up/;

const STDERR_TAIL_LINES = 10;

/** Claude Code (`claude -p`, stream-json) as a CodingAgent. */
export class ClaudeCodeAgent implements CodingAgent {
  readonly name = 'claude-code';
  readonly modelProvider = 'anthropic';
  readonly toolPaths: string[];
  private readonly executable: string;

  constructor(private readonly opts: ClaudeCodeAgentOptions) {
    if (isAbsolute(opts.executable)) {
      // A binary on the worker's host: a local sandbox binds tool paths at the same path, so the argv must
      // name the file by its real path.
      this.executable = realpathSync(opts.executable);
      this.toolPaths = [dirname(this.executable)];
    } else {
      // A command the sandbox image provides on its PATH (a Daytona snapshot): nothing to bring along.
      this.executable = opts.executable;
      this.toolPaths = [];
    }
  }

  async run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult> {
    const logger = ctx.logger.child({ agent: this.name });
    const home = `${input.scratchDir}/home`;
    const tmp = `${input.scratchDir}/tmp`;
    const mkdir = await input.sandbox.exec(['mkdir', '-p', home, tmp], { signal: ctx.signal, timeoutMs: 30_000 });
    if (mkdir.exitCode !== 0) {
      throw new AppError('agent_failed', `could not create the agent's scratch directories: ${lastLines(mkdir.stderr)}`);
    }

    const model = input.model ?? this.opts.defaultModel;
    const argv = [
      this.executable,
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      '--max-turns',
      String(input.maxTurns),
      ...(model ? ['--model', model] : []),
      // The CLI stops itself at a cost limit it can see (cost is known to it per call, to us only at the end).
      ...(input.usage.remaining().maxCostUsd === undefined ? [] : ['--max-budget-usd', String(input.usage.remaining().maxCostUsd)]),
      // After `--`, so a prompt that starts with `-` (`--settings …`) is the prompt, never an option.
      '--',
      input.prompt,
    ];
    // Built from the run's endpoint and configuration only: nothing of the worker's process.env reaches the CLI.
    const env: Record<string, string> = {
      ...this.credentialsEnv(input),
      HOME: home,
      CLAUDE_CODE_TMPDIR: tmp,
      TMPDIR: tmp,
      // Zero calls besides the model API: no bootstrap, telemetry, MCP registry or update checks.
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      // Required for --dangerously-skip-permissions when the sandbox runs commands as root; harmless otherwise.
      IS_SANDBOX: '1',
      CLAUDE_CODE_MAX_RETRIES: String(this.opts.maxApiRetries ?? 2),
      ...this.opts.extraEnv,
    };

    const usage = new ClaudeUsageTally();
    const { exec, lines } = await runNdjsonCli({
      sandbox: input.sandbox,
      argv,
      exec: { cwd: input.workdir, env, timeoutMs: input.timeoutMs, signal: ctx.signal },
      lineSchema: ClaudeStreamLine,
      toEvents: createClaudeLineMapper({ workdir: input.workdir }),
      emit: (event) => ctx.emit(event),
      onLine: async (line) => {
        const total = usage.observe(line);
        if (total) await input.usage.report(total);
      },
      logger,
    });

    if (exec.timedOut) {
      throw new AppError('agent_timeout', `Claude Code did not finish within ${input.timeoutMs} ms`);
    }
    const result = lines.findLast((l): l is ClaudeResultLine => l.type === 'result');
    if (!result) {
      throw new AppError(
        'agent_failed',
        `Claude Code exited with code ${exec.exitCode} without a result: ${lastLines(exec.stderr) || '(no stderr)'}`,
      );
    }
    if (result.subtype === 'error_max_budget_usd') {
      throw new AppError('budget_exceeded', `Claude Code stopped at the job's cost budget`);
    }
    if (result.subtype === 'error_max_turns') {
      throw new AppError('agent_max_turns', `Claude Code stopped after reaching the limit of ${input.maxTurns} turns`);
    }
    // API errors arrive as subtype "success" with is_error set, so the subtype alone proves nothing.
    if (result.is_error || exec.exitCode !== 0) {
      const detail = result.result ?? result.subtype;
      throw new AppError('agent_failed', `Claude Code failed (exit code ${exec.exitCode}): ${truncateText(detail, 1000)}`, {
        retryable: isRetryableApiStatus(result.api_error_status) || (result.api_error_status == null && TRANSIENT_API_FAILURE.test(result.result ?? '')),
      });
    }
    logger.info({ turns: result.num_turns }, 'agent finished');
    return { summary: result.result ?? '' };
  }

  /**
   * The CLI's auth: an API key (ANTHROPIC_API_KEY, sent as x-api-key) or, for a Claude subscription, an
   * OAuth token (CLAUDE_CODE_OAUTH_TOKEN, sent as a bearer): behind the gateway either one is the attempt's token.
   */
  private credentialsEnv(input: AgentRunInput): Record<string, string> {
    const endpoint = input.modelEndpoint ?? (this.opts.apiKey ? { apiKey: this.opts.apiKey, baseUrl: this.opts.baseUrl } : undefined);
    if (!endpoint) throw new AppError('agent_failed', 'Claude Code has no model endpoint: neither the run nor the agent brings credentials');
    return {
      ...(input.modelEndpoint?.auth === 'oauth' ? { CLAUDE_CODE_OAUTH_TOKEN: endpoint.apiKey } : { ANTHROPIC_API_KEY: endpoint.apiKey }),
      ...(endpoint.baseUrl ? { ANTHROPIC_BASE_URL: endpoint.baseUrl } : {}),
    };
  }
}

function lastLines(text: string): string {
  return truncateText(text.trimEnd().split('\n').slice(-STDERR_TAIL_LINES).join('\n'), 2000);
}
