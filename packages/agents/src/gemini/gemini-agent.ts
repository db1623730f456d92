import { existsSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { AppError, type AgentRunInput, type AgentRunResult, type CodingAgent, type StepContext } from '@tinyb/core';
import { runNdjsonCli } from '../run-ndjson-cli.js';
import { truncateText } from '../truncate-text.js';
import { geminiExitError } from './gemini-exit-error.js';
import { geminiSettings } from './gemini-settings.js';
import { GeminiStreamLine, type GeminiResultLine } from './gemini-stream-line.js';
import { createGeminiLineMapper, finalAssistantText, geminiStatsUsage } from './map-gemini-stream-line.js';

export interface GeminiAgentOptions {
  /**
   * Host path of the CLI's JS entry, `@google/gemini-cli/bundle/gemini.js` (see resolveGeminiCli), run with
   * node; or a bare command name (`gemini`) that the sandbox image has on its PATH (Daytona snapshots).
   */
  executable: string;
  /** The node binary that runs it; default the worker's own (`process.execPath`). */
  nodePath?: string;
  /** Only for runs without a `modelEndpoint` (direct use, tests); the worker hands each attempt an endpoint. */
  apiKey?: string;
  /** GOOGLE_GEMINI_BASE_URL for runs without a `modelEndpoint`: a fake in tests. Default Google's public endpoint. */
  baseUrl?: string;
  /** Used when a job names no model. A model is always passed: with `auto` the CLI first asks a router model. */
  defaultModel?: string;
  /** The CLI's attempts per model request (1–10; it backs off 5–30 s between them); the queue retries the job on top. */
  maxApiAttempts?: number;
  /** Extra environment for the CLI (proxy settings, …). Applied last, so it can override the defaults. */
  extraEnv?: Record<string, string>;
}

export const GEMINI_DEFAULT_MODEL = 'gemini-2.5-pro';
/** Pinned even when no base URL is configured, so that nothing the repository holds can redirect the API key. */
export const GEMINI_PUBLIC_BASE_URL = 'https://generativelanguage.googleapis.com';
const DEFAULT_MAX_API_ATTEMPTS = 3;
const MKDIR_TIMEOUT_MS = 30_000;

/** Gemini CLI (`gemini -p … -o stream-json`) as a CodingAgent. */
export class GeminiAgent implements CodingAgent {
  readonly name = 'gemini';
  readonly modelProvider = 'gemini';
  readonly toolPaths: string[];
  /** The argv prefix that starts the CLI: `[node, gemini.js]` from the host, or `[gemini]` from the image. */
  private readonly command: string[];

  constructor(private readonly opts: GeminiAgentOptions) {
    if (!isAbsolute(opts.executable)) {
      // Installed in the sandbox image: run it by name, bring nothing along.
      this.command = [opts.executable];
      this.toolPaths = [];
      return;
    }
    // The sandbox binds tool paths at the same path, so the argv must name files by their real paths.
    const entry = realpathSync(opts.executable);
    const nodePath = realpathSync(opts.nodePath ?? process.execPath);
    this.command = [nodePath, entry];
    const packageDir = packageRoot(entry);
    const nodeDir = dirname(nodePath);
    // /usr is in every sandbox already; a node installed elsewhere (nvm, /opt) has to be bound too.
    this.toolPaths = nodeDir.startsWith('/usr/') ? [packageDir] : [packageDir, nodeDir];
  }

  async run(input: AgentRunInput, ctx: StepContext): Promise<AgentRunResult> {
    const logger = ctx.logger.child({ agent: this.name });
    const home = `${input.scratchDir}/home`;
    const tmp = `${input.scratchDir}/tmp`;
    const settingsPath = `${home}/.gemini/settings.json`;
    const settings = geminiSettings({ maxSessionTurns: input.maxTurns, maxAttempts: this.opts.maxApiAttempts ?? DEFAULT_MAX_API_ATTEMPTS });
    await input.sandbox.writeFile(settingsPath, `${JSON.stringify(settings, null, 2)}\n`);
    // The CLI writes crash reports to os.tmpdir(), which must exist.
    const mkdir = await input.sandbox.exec(['mkdir', '-p', tmp], { signal: ctx.signal, timeoutMs: MKDIR_TIMEOUT_MS });
    if (mkdir.exitCode !== 0) {
      throw new AppError('agent_failed', `could not create the agent's scratch directories: ${truncateText(mkdir.stderr, 2000)}`);
    }

    const argv = [
      ...this.command,
      // `--prompt=` keeps a prompt that starts with `-` a value. A leading `/` would make it a slash command.
      `--prompt=${input.prompt.startsWith('/') ? ` ${input.prompt}` : input.prompt}`,
      '--output-format',
      'stream-json',
      '--yolo',
      // Without trust the CLI silently drops yolo back to asking for approval, which nobody answers.
      '--skip-trust',
      '--model',
      input.model ?? this.opts.defaultModel ?? GEMINI_DEFAULT_MODEL,
    ];
    const endpoint = input.modelEndpoint ?? (this.opts.apiKey ? { apiKey: this.opts.apiKey, baseUrl: this.opts.baseUrl ?? GEMINI_PUBLIC_BASE_URL } : undefined);
    if (!endpoint) throw new AppError('agent_failed', 'Gemini CLI has no model endpoint: neither the run nor the agent brings credentials');
    // Built from the run's endpoint and configuration only: nothing of the worker's process.env reaches the CLI.
    const env: Record<string, string> = {
      GEMINI_API_KEY: endpoint.apiKey,
      GOOGLE_GEMINI_BASE_URL: endpoint.baseUrl,
      HOME: home,
      TMPDIR: tmp,
      GEMINI_CLI_SYSTEM_SETTINGS_PATH: settingsPath,
      // By default the CLI re-spawns itself with a bigger heap (half the host's RAM) and its parent ignores
      // SIGTERM: one process is quicker to start and simpler to stop.
      GEMINI_CLI_NO_RELAUNCH: 'true',
      ...this.opts.extraEnv,
    };

    const mapper = createGeminiLineMapper({ workdir: input.workdir });
    const { exec, lines } = await runNdjsonCli({
      sandbox: input.sandbox,
      argv,
      exec: { cwd: input.workdir, env, timeoutMs: input.timeoutMs, signal: ctx.signal },
      lineSchema: GeminiStreamLine,
      toEvents: (line) => mapper.map(line),
      emit: (event) => ctx.emit(event),
      logger,
    });
    // Text the CLI printed after its last complete turn, when it ended without a closing line.
    for (const event of mapper.flush()) await ctx.emit(event);

    const result = lines.findLast((l): l is GeminiResultLine => l.type === 'result');
    // The CLI reports tokens only at the end; failed runs spent them too.
    if (result?.stats) await input.usage.report(geminiStatsUsage(result.stats));

    const error = geminiExitError(exec, result, { maxTurns: input.maxTurns, timeoutMs: input.timeoutMs });
    if (error) {
      logger.warn({ exitCode: exec.exitCode, code: error.code, retryable: error.retryable }, 'agent failed');
      throw error;
    }
    logger.info({ toolCalls: result?.stats?.tool_calls }, 'agent finished');
    return { summary: finalAssistantText(lines) };
  }
}

/** The directory holding the package.json next to (or above) the entry: everything the CLI loads is below it. */
function packageRoot(entry: string): string {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error(`no package.json above ${entry}`);
}
