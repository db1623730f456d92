import { detectChecks, type RepoLayout } from './detect-checks.js';

/** A layout from file contents (`null`: present, contents not needed) and directories (ending in `/`). */
function layout(files: Record<string, string | null>, dirs: string[] = []): RepoLayout {
  return {
    entries: new Set([...Object.keys(files), ...dirs]),
    files: Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => e[1] !== null)),
  };
}

const pkg = (scripts: Record<string, string>, more: object = {}) => JSON.stringify({ name: 'x', scripts, ...more });
const deps = { devDependencies: { jest: '^29.0.0' } };

describe('detectChecks', () => {
  it.each<[string, RepoLayout, string[]]>([
    ['an empty repository', layout({ 'README.md': null }), []],
    ['package.json test, no dependencies, no lockfile: npm', layout({ 'package.json': pkg({ test: 'node test.js' }) }), ['npm test']],
    ["npm init's placeholder test is skipped", layout({ 'package.json': pkg({ test: 'echo "Error: no test specified" && exit 1' }) }), []],
    [
      'lint, typecheck and test, cheapest first',
      layout({ 'package.json': pkg({ test: 'jest', lint: 'eslint .', typecheck: 'tsc --noEmit', build: 'tsc' }) }),
      ['npm run lint', 'npm run typecheck', 'npm test'],
    ],
    ['dependencies and package-lock.json: npm ci first', layout({ 'package.json': pkg({ test: 'jest' }, deps), 'package-lock.json': null }), ['npm ci', 'npm test']],
    ['dependencies without a lockfile: npm install', layout({ 'package.json': pkg({ test: 'jest' }, deps) }), ['npm install', 'npm test']],
    [
      'pnpm-lock.yaml: pnpm',
      layout({ 'package.json': pkg({ test: 'vitest', lint: 'eslint .' }, deps), 'pnpm-lock.yaml': null }),
      ['pnpm install --frozen-lockfile', 'pnpm run lint', 'pnpm test'],
    ],
    ['yarn.lock: yarn', layout({ 'package.json': pkg({ test: 'jest' }, deps), 'yarn.lock': null }), ['yarn install --frozen-lockfile', 'yarn test']],
    ['packageManager field without a lockfile', layout({ 'package.json': pkg({ test: 'jest' }, { packageManager: 'pnpm@9.1.0' }) }), ['pnpm test']],
    ['node_modules already there: no install', layout({ 'package.json': pkg({ test: 'jest' }, deps), 'package-lock.json': null }, ['node_modules/']), ['npm test']],
    ['a package.json that does not parse', layout({ 'package.json': '{ "scripts": ' }), []],
    ['a Makefile test target', layout({ Makefile: 'build:\n\tcc x.c\n\ntest: build\n\t./run-tests\n' }), ['make test']],
    ['a Makefile with only a test variable', layout({ Makefile: 'test := yes\nall:\n\ttrue\n' }), []],
    [
      'the Makefile test target replaces package.json test, lint stays',
      layout({ 'package.json': pkg({ test: 'jest', lint: 'eslint .' }), Makefile: 'test:\n\tnpm test\n' }),
      ['npm run lint', 'make test'],
    ],
    ['pytest.ini', layout({ 'pytest.ini': null }), ['python3 -m pytest']],
    ['pyproject.toml with [tool.pytest.ini_options]', layout({ 'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "-q"\n' }), ['python3 -m pytest']],
    ['a Python project with a tests directory', layout({ 'pyproject.toml': '[project]\nname = "x"\n' }, ['tests/']), ['python3 -m pytest']],
    ['a tests directory alone is not Python', layout({ 'package.json': pkg({}) }, ['tests/']), []],
    ['setup.cfg [tool:pytest]', layout({ 'setup.cfg': '[tool:pytest]\ntestpaths = t\n' }), ['python3 -m pytest']],
    ['go.mod', layout({ 'go.mod': null }), ['go test ./...']],
    ['Cargo.toml', layout({ 'Cargo.toml': null }), ['cargo test']],
    ['several ecosystems', layout({ 'go.mod': null, 'package.json': pkg({ lint: 'eslint .' }) }), ['npm run lint', 'go test ./...']],
  ])('%s', (_name, repo, commands) => {
    expect(detectChecks(repo).map((c) => c.command)).toEqual(commands);
  });

  it('marks only dependency installs as setup', () => {
    const checks = detectChecks(layout({ 'package.json': pkg({ test: 'jest' }, deps), 'package-lock.json': null }));
    expect(checks).toEqual([
      { command: 'npm ci', setup: true },
      { command: 'npm test', setup: false },
    ]);
  });
});
