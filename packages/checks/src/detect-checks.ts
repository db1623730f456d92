import type { PlannedCheck } from '@tinyb/core';

/** What detection needs to know of a checkout's top level. */
export interface RepoLayout {
  /** Names of the top-level entries; directories end with `/`. */
  entries: ReadonlySet<string>;
  /** Contents of the top-level files detection reads (package.json, Makefile, pyproject.toml, …), when present. */
  files: Readonly<Record<string, string>>;
}

/** The files whose contents detection reads; everything else it needs is an entry's presence. */
export const DETECTION_FILES = ['package.json', 'Makefile', 'makefile', 'GNUmakefile', 'pyproject.toml', 'setup.cfg', 'tox.ini'] as const;

type PackageManager = 'npm' | 'pnpm' | 'yarn';

// `npm init`'s placeholder, which fails on purpose: not a check.
const NPM_DEFAULT_TEST = /no test specified/;
// A make target line `test:` (not a variable `test := …`).
const MAKE_TEST_TARGET = /^test\s*:(?!=)/m;

/**
 * A repository's usual checks from its layout, cheapest first: installing Node dependencies (when it has any and
 * none are installed), its package.json `lint`, `typecheck` and `test` scripts with the package manager its
 * lockfile names, then `make test`, pytest, `go test ./...`, `cargo test`. A Makefile `test` target is the
 * repository's own entry point for its tests, so it replaces the other ecosystems' test commands.
 */
export function detectChecks(layout: RepoLayout): PlannedCheck[] {
  const has = (name: string) => layout.entries.has(name);
  const checks: PlannedCheck[] = [];
  const tests: string[] = [];

  const pkg = parsePackageJson(layout.files['package.json']);
  if (pkg) {
    const pm = packageManagerOf(layout, pkg.packageManager);
    const hasDependencies = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }).length > 0;
    if (hasDependencies && !has('node_modules/')) checks.push({ command: installCommand(pm, layout), setup: true });
    for (const script of ['lint', 'typecheck'] as const) {
      if (pkg.scripts[script]) checks.push({ command: `${pm} run ${script}`, setup: false });
    }
    const test = pkg.scripts.test;
    if (test && !NPM_DEFAULT_TEST.test(test)) tests.push(`${pm} test`);
  }

  const makefile = layout.files.GNUmakefile ?? layout.files.makefile ?? layout.files.Makefile;
  const makeTest = makefile !== undefined && MAKE_TEST_TARGET.test(makefile);

  if (usesPytest(layout)) tests.push('python3 -m pytest');
  if (has('go.mod')) tests.push('go test ./...');
  if (has('Cargo.toml')) tests.push('cargo test');

  for (const command of makeTest ? ['make test'] : tests) checks.push({ command, setup: false });
  return checks;
}

interface PackageJson {
  scripts: Record<string, string>;
  dependencies?: Record<string, unknown>;
  devDependencies?: Record<string, unknown>;
  packageManager?: string;
}

/** A package.json that does not parse has no checks we can name (its own tools would fail on it too). */
function parsePackageJson(text: string | undefined): PackageJson | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const stringsOf = (v: unknown) =>
    typeof v === 'object' && v !== null ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  const objectOf = (v: unknown) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined);
  return {
    scripts: stringsOf(record.scripts),
    ...(objectOf(record.dependencies) ? { dependencies: objectOf(record.dependencies) } : {}),
    ...(objectOf(record.devDependencies) ? { devDependencies: objectOf(record.devDependencies) } : {}),
    ...(typeof record.packageManager === 'string' ? { packageManager: record.packageManager } : {}),
  };
}

/** The lockfile says which tool the repository uses; package.json's `packageManager` field decides when there is none. */
function packageManagerOf(layout: RepoLayout, declared: string | undefined): PackageManager {
  if (layout.entries.has('pnpm-lock.yaml')) return 'pnpm';
  if (layout.entries.has('yarn.lock')) return 'yarn';
  if (layout.entries.has('package-lock.json') || layout.entries.has('npm-shrinkwrap.json')) return 'npm';
  const name = declared?.split('@', 1)[0];
  return name === 'pnpm' || name === 'yarn' ? name : 'npm';
}

function installCommand(pm: PackageManager, layout: RepoLayout): string {
  switch (pm) {
    case 'pnpm':
      return layout.entries.has('pnpm-lock.yaml') ? 'pnpm install --frozen-lockfile' : 'pnpm install';
    case 'yarn':
      return layout.entries.has('yarn.lock') ? 'yarn install --frozen-lockfile' : 'yarn install';
    case 'npm':
      return layout.entries.has('package-lock.json') || layout.entries.has('npm-shrinkwrap.json') ? 'npm ci' : 'npm install';
  }
}

function usesPytest(layout: RepoLayout): boolean {
  const { entries, files } = layout;
  if (entries.has('pytest.ini') || entries.has('conftest.py')) return true;
  if (files['pyproject.toml']?.includes('[tool.pytest')) return true;
  if (files['setup.cfg']?.includes('[tool:pytest]')) return true;
  if (files['tox.ini']?.includes('[pytest]')) return true;
  // A tests/ directory says "pytest" only in a Python project: JavaScript projects have them too.
  const python = ['pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt'].some((f) => entries.has(f));
  return python && entries.has('tests/');
}
