import { realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The npm stub that install.cjs replaces is about 500 bytes; the real binary is hundreds of MB. */
const STUB_MAX_BYTES = 1024 * 1024;

/**
 * The real path of the native Claude Code binary installed with `@anthropic-ai/claude-code`. Prefers the
 * platform package (`@anthropic-ai/claude-code-linux-x64/claude`), which does not depend on the postinstall
 * script having run, then the package's own `bin/claude.exe`. Throws when only the stub is there.
 */
export function resolveClaudeExecutable(from: string = import.meta.url): string {
  const require = createRequire(from);
  let packageJson: string;
  try {
    packageJson = require.resolve('@anthropic-ai/claude-code/package.json');
  } catch (err) {
    throw new Error('Claude Code is not installed: cannot resolve @anthropic-ai/claude-code', { cause: err });
  }
  // The platform package is a dependency of claude-code, not ours: resolve it from there (pnpm is strict).
  const fromClaude = createRequire(packageJson);
  const candidates: string[] = [];
  try {
    candidates.push(fromClaude.resolve(`@anthropic-ai/claude-code-${process.platform}-${process.arch}/claude`));
  } catch {
    // Not installed for this platform (or optional dependencies were skipped): try the package's bin.
  }
  candidates.push(fromClaude.resolve('./bin/claude.exe'));

  for (const candidate of candidates) {
    const real = realpathSync(candidate);
    if (statSync(real).size > STUB_MAX_BYTES) return real;
  }
  throw new Error(
    `Claude Code native binary not installed: ${candidates.join(', ')} is only the npm stub. ` +
      "Allow its install script (allowBuilds '@anthropic-ai/claude-code' in pnpm-workspace.yaml) and reinstall, " +
      `or install @anthropic-ai/claude-code-${process.platform}-${process.arch}.`,
  );
}
