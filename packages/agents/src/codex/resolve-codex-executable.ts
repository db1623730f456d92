import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The Rust target triples the npm package ships binaries for, on Linux (where the sandboxes run). */
const LINUX_TARGETS: Record<string, string> = { x64: 'x86_64-unknown-linux-musl', arm64: 'aarch64-unknown-linux-musl' };

/**
 * The real path of the native Codex CLI binary that `@openai/codex` installs as its optional platform package
 * (`@openai/codex-linux-x64`, an alias of `@openai/codex@<version>-linux-x64`): its `vendor/<triple>/bin/codex`.
 * The package's `bin/codex.js` only finds and execs that file, so we run the binary itself (no node in the
 * sandbox). Throws when the platform package was not installed (`--omit=optional`).
 */
export function resolveCodexExecutable(from: string = import.meta.url): string {
  const target = process.platform === 'linux' ? LINUX_TARGETS[process.arch] : undefined;
  if (!target) throw new Error(`Codex CLI: no Linux binary for ${process.platform}-${process.arch}`);
  const require = createRequire(from);
  let packageJson: string;
  try {
    packageJson = require.resolve('@openai/codex/package.json');
  } catch (err) {
    throw new Error('Codex CLI is not installed: cannot resolve @openai/codex', { cause: err });
  }
  // The platform package is a dependency of @openai/codex, not ours: resolve it from there (pnpm is strict).
  const platformPackage = `@openai/codex-linux-${process.arch}`;
  let platformJson: string;
  try {
    platformJson = createRequire(packageJson).resolve(`${platformPackage}/package.json`);
  } catch (err) {
    throw new Error(`Codex CLI binary not installed: ${platformPackage} is missing (optional dependencies skipped?)`, { cause: err });
  }
  return realpathSync(path.join(path.dirname(platformJson), 'vendor', target, 'bin', 'codex'));
}
