/** The provider id our config defines; a repository cannot redefine it (untrusted project config is ignored). */
export const CODEX_PROVIDER_ID = 'tinyb';
/** The variable carrying the key (behind the gateway: the attempt's token) that the CLI sends as a bearer. */
export const CODEX_KEY_ENV = 'TINYB_MODEL_API_KEY';

export interface CodexConfigInput {
  model: string;
  /** The Responses API base, ending in `/v1`: the CLI posts to `<baseUrl>/responses`. */
  baseUrl: string;
  /** The CLI's attempts per model request beyond the first; the queue retries the job on top. */
  requestMaxRetries: number;
  /** Longest silence of a response stream before the CLI gives up on it. */
  streamIdleTimeoutMs: number;
}

/**
 * `$CODEX_HOME/config.toml` for one headless run (CLI 0.171).
 *
 * - A custom provider is the only way to point the CLI elsewhere: it ignores OPENAI_BASE_URL, and its built-in
 *   provider tries WebSockets first. `wire_api = "responses"` is the only wire it still speaks.
 * - Its own sandbox is off (`danger-full-access`): ours already isolates it, and inside bwrap with
 *   `--disable-userns` its nested bwrap could not start anyway (and on Daytona it would only add a layer the
 *   image may not support). Approvals are never asked for: nobody could answer.
 * - Plugins and analytics off, web search disabled: otherwise it looks up github.com, chatgpt.com and more.
 * - Commands inherit only the core variables (PATH, HOME, …), not the key; `exclude` lists did not work.
 *   Under danger-full-access a command can still read it from /proc/<codex>/environ, which is why the key
 *   is only ever a gateway token there.
 */
export function codexConfigToml(input: CodexConfigInput): string {
  const lines = [
    `model = ${tomlString(input.model)}`,
    `model_provider = ${tomlString(CODEX_PROVIDER_ID)}`,
    'approval_policy = "never"',
    'sandbox_mode = "danger-full-access"',
    'web_search = "disabled"',
    'features.plugins = false',
    'analytics.enabled = false',
    'shell_environment_policy.inherit = "core"',
    '',
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    'name = "Tiny Backspace"',
    `base_url = ${tomlString(input.baseUrl.replace(/\/+$/, ''))}`,
    `env_key = ${tomlString(CODEX_KEY_ENV)}`,
    'wire_api = "responses"',
    `request_max_retries = ${Math.max(0, Math.trunc(input.requestMaxRetries))}`,
    'stream_max_retries = 1',
    `stream_idle_timeout_ms = ${Math.max(1, Math.trunc(input.streamIdleTimeoutMs))}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * A TOML basic string. JSON's string escapes (`\"`, `\\`, `\n`, `\t`, `\uXXXX`, …) are all valid TOML, and
 * JSON.stringify escapes every control character TOML forbids raw but DEL.
 */
function tomlString(value: string): string {
  return JSON.stringify(value).replace(/\u007f/g, '\\u007F');
}
