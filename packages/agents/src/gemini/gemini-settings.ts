/**
 * The CLI's settings for one headless run. The agent writes them as the user settings in the job's HOME and
 * also names the same file as the *system* settings (GEMINI_CLI_SYSTEM_SETTINGS_PATH), which the CLI merges
 * last. CLI 0.61 reads settings before `--skip-trust` trusts the workspace, so a repository's own
 * `.gemini/settings.json` is ignored today; as system settings ours would still win (turn limit, auth type,
 * no usage statistics) should a later CLI trust the workspace first.
 */
export function geminiSettings(opts: { maxSessionTurns: number; maxAttempts: number }): Record<string, unknown> {
  return {
    // With GOOGLE_GEMINI_BASE_URL set, the CLI would infer the "gateway" auth type, which headless mode
    // refuses (exit 41); the API key type still honours the base URL.
    security: { auth: { selectedType: 'gemini-api-key' } },
    // Otherwise it sends usage statistics to play.googleapis.com: traffic besides the model API.
    privacy: { usageStatisticsEnabled: false },
    general: {
      enableAutoUpdate: false,
      enableAutoUpdateNotification: false,
      // Its default is 10 attempts with backoff up to 30 s each; the queue retries the job on top.
      maxAttempts: opts.maxAttempts,
    },
    // The CLI counts a turn per model request and exits with 53 when the next one would pass the limit.
    model: { maxSessionTurns: opts.maxSessionTurns },
    // node-pty is not installed (its build is denied) nor visible in the sandbox: plain child processes.
    tools: { shell: { enableInteractiveShell: false } },
    // A repository's `.env` must not reconfigure the CLI (proxies, endpoints).
    advanced: { ignoreLocalEnv: true },
  };
}
