import { realpathSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { AppError, type AgentRunInput, type AgentRunResult, type CodingAgent, type StepContext } from '@tinyb/core';
import { runNdjsonCli } from '../run-ndjson-cli.js';
import { truncateText } from '../truncate-text.js';
import { CODEX_KEY_ENV, codexConfigToml } from './codex-config.js';
import { CodexEvent } from './codex-event.js';
import { codexExitError } from './codex-exit-error.js';
import { codexUsage, createCodexEventMapper, finalAgentMessage } from './map-codex-event.js';

export interface CodexAgentOptions {
  /**
   * Absolute host path of the native `codex` binary (see resolveCodexExecutable), or a bare command name
   * (`codex`) that the sandbox image has on its PATH (Daytona snapshots).
   */
  executable: string;
  /** Only for runs without a `modelEndpoint` (direct use, tests); the worker hands each attempt an endpoint. */
  apiKey?: string;
  /** The Responses API base (ending in `/v1`) for runs without a `modelEndpoint`. Default OpenAI's. */
  baseUrl?: string;
  /** Used when a job names no model. */
  defaultModel?: string;
  /** The CLI's retries of a failed model request (it backs off up to seconds); the queue retries the job on top. */
  maxApiRetries?: number;
  /** Extra environment for the CLI (proxy settings, …). Applied last, so it can override the defaults. */
  extraEnv?: Record<string, string>;
}

/** A model of the CLI's catalog: with it the CLI offers its `apply_patch` tool and knows the context window. */
export const CODEX_DEFAULT_MODEL = 'gpt-5.5';
export const OPENAI_PUBLIC_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_MAX_API_RETRIES = 2;
/** The CLI's own default is 5 min; a stream silent that long is dead, and the job's time limit is the backstop. */
const STREAM_IDLE_TIMEOUT_MS = 5 * 60_000;
const MKDIR_TIMEOUT_MS = 30_000;

/** OpenAI's Codex CLI (`codex exec --json`) as a CodingAgent. */
export class CodexAgent implements CodingAgent {
  readonly name = 'codex';
  readonly modelProvider = 'openai';
  readonly toolPaths: string[];
  private readonly executable: string;

  constructor(private readonly opts: CodexAgentOptions) {
    if (isAbsolute(opts.executable)) {
      // A local sandbox binds tool paths at the same path, so the argv names the file by its real path. The
      // binary is large (300 MB, with a helper beside it): its directory is bound, never copied.
      this.executable = realpathSync(opts.executable);
      this.toolPaths = [dirname(this.executable)];
    } else {
      this.executable = opts.executable;
      this.toolPaths = [];
    }
  }

  async run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult> {
    const logger = ctx.logger.child({ agent: this.name });
    // In the workspace, never the system temp dir: there the CLI refuses to set up its helper links.
    const codexHome = `${input.scratchDir}/codex-home`;
    const home = `${input.scratchDir}/home`;
    const tmp = `${input.scratchDir}/tmp`;
    const mkdir = await input.sandbox.exec(['mkdir', '-p', codexHome, home, tmp], { signal: ctx.signal, timeoutMs: MKDIR_TIMEOUT_MS });
    if (mkdir.exitCode !== 0) {
      throw new AppError('agent_failed', `could not create the agent's scratch directories: ${truncateText(mkdir.stderr, 2000)}`);
    }

    const endpoint = input.modelEndpoint ?? (this.opts.apiKey ? { apiKey: this.opts.apiKey, baseUrl: this.opts.baseUrl ?? OPENAI_PUBLIC_BASE_URL } : undefined);
    if (!endpoint) throw new AppError('agent_failed', 'Codex has no model endpoint: neither the run nor the agent brings credentials');
    const model = input.model ?? this.opts.defaultModel ?? CODEX_DEFAULT_MODEL;
    await input.sandbox.writeFile(
      `${codexHome}/config.toml`,
      codexConfigToml({ model, baseUrl: endpoint.baseUrl, requestMaxRetries: this.opts.maxApiRetries ?? DEFAULT_MAX_API_RETRIES, streamIdleTimeoutMs: STREAM_IDLE_TIMEOUT_MS }),
    );

    const argv = [
      this.executable,
      'exec',
      '--json',
      // Nothing to resume later: no session files.
      '--ephemeral',
      // The checkout is a repository, but a job may run in a subdirectory or a bare tree; the check only refuses.
      '--skip-git-repo-check',
      // After `--` the prompt is the prompt, never an option or the `resume` subcommand. A lone `-` would mean
      // "read the prompt from stdin", which is empty.
      '--',
      input.prompt === '-' ? ' -' : input.prompt,
    ];
    // Built from the run's endpoint and configuration only: nothing of the worker's process.env reaches the CLI.
    const env: Record<string, string> = {
      [CODEX_KEY_ENV]: endpoint.apiKey,
      CODEX_HOME: codexHome,
      HOME: home,
      TMPDIR: tmp,
      ...this.opts.extraEnv,
    };

    // The CLI has no turn limit (a looping model made 94 calls in 8 s): we count its tool calls and stop it
    // when the next one would pass the limit, the way the other CLIs count model turns.
    const turnLimit = new AbortController();
    const mapper = createCodexEventMapper({ workdir: input.workdir });
    const signal = AbortSignal.any([ctx.signal, turnLimit.signal]);
    const { exec, lines } = await runNdjsonCli({
      sandbox: input.sandbox,
      argv,
      // Spawned with stdin closed (both providers): with an open pipe the CLI waits for more prompt.
      exec: { cwd: input.workdir, env, timeoutMs: input.timeoutMs, signal },
      lineSchema: CodexEvent,
      toEvents: (line) => {
        if (turnLimit.signal.aborted) return [];
        const before = mapper.toolCalls;
        const events = mapper.map(line);
        if (mapper.toolCalls > input.maxTurns && mapper.toolCalls > before) {
          turnLimit.abort(new AppError('agent_max_turns', `Codex stopped after reaching the limit of ${input.maxTurns} turns`));
          return [];
        }
        return events;
      },
      emit: (event) => ctx.emit(event),
      onLine: async (line) => {
        // Totals of every model call so far, reported when a turn ends (the gateway meters each call as it goes).
        if (line.type === 'turn.completed') await input.usage.report(codexUsage(line.usage), 'agent');
      },
      logger,
    });

    const error = codexExitError(exec, lines, { timeoutMs: input.timeoutMs });
    if (error) {
      logger.warn({ exitCode: exec.exitCode, code: error.code, retryable: error.retryable }, 'agent failed');
      throw error;
    }
    logger.info({ toolCalls: mapper.toolCalls }, 'agent finished');
    return { summary: finalAgentMessage(lines) };
  }
}
