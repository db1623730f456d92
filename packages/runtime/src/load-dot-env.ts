import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Loads the workspace's `.env` into process.env (variables already set win), so `pnpm start` picks up
 * the operator's settings wherever pnpm runs the app from. `TINYB_DOTENV=off` skips it (tests that spawn
 * the apps set everything themselves); `TINYB_DOTENV=/path/to/file` reads another file.
 */
export function loadDotEnv(): void {
  const setting = process.env['TINYB_DOTENV'];
  if (setting === 'off') return;
  const path = setting || findWorkspaceDotEnv(process.cwd());
  if (path && existsSync(path)) process.loadEnvFile(path);
}

function findWorkspaceDotEnv(from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return join(dir, '.env');
    if (dirname(dir) === dir) return undefined;
  }
}
