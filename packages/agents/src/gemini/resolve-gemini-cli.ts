import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The real path of the Gemini CLI's JS entry (`bundle/gemini.js` of `@google/gemini-cli`), to be run with
 * node. The package's `bin` is that file; resolving it through package.json keeps us independent of how
 * pnpm links binaries.
 */
export function resolveGeminiCli(from: string = import.meta.url): string {
  const require = createRequire(from);
  let packageJson: string;
  try {
    packageJson = require.resolve('@google/gemini-cli/package.json');
  } catch (err) {
    throw new Error('Gemini CLI is not installed: cannot resolve @google/gemini-cli', { cause: err });
  }
  return realpathSync(createRequire(packageJson).resolve('./bundle/gemini.js'));
}
