import type { Redactor } from '@tinyb/core';

/**
 * Every setting, in either app, whose value is a credential. GITHUB_APP_PRIVATE_KEY is not here: its value
 * may be a file's path, and the worker registers the loaded key itself.
 */
export const SECRET_ENV_VARS = [
  'ANTHROPIC_API_KEY',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'GEMINI_API_KEY',
  'OPENAI_API_KEY',
  'GITHUB_TOKEN',
  'DAYTONA_API_KEY',
  'API_TOKEN',
  'GITHUB_WEBHOOK_SECRET',
  'REDIS_PASSWORD',
] as const;

/**
 * Registers with `redactor` the value of every SECRET_ENV_VARS setting present in `env` (a parsed env: a
 * setting the app does not read is simply absent), and the password of REDIS_URL. Call it once at start,
 * before anything is logged.
 */
export function registerEnvSecrets(redactor: Redactor, env: object): void {
  const values = env as Record<string, unknown>;
  for (const name of SECRET_ENV_VARS) {
    const value = values[name];
    if (typeof value === 'string') redactor.add(value);
  }
  if (typeof values.REDIS_URL === 'string' && URL.canParse(values.REDIS_URL)) {
    const { password } = new URL(values.REDIS_URL);
    if (password) redactor.add(decodeURIComponent(password));
  }
}
