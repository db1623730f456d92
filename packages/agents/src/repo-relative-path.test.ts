import { repoRelativePath } from './repo-relative-path.js';

describe('repoRelativePath', () => {
  it.each([
    ['/workspace/repo/src/app.ts', '/workspace/repo', 'src/app.ts'],
    ['/workspace/repo/src/app.ts', '/workspace/repo/', 'src/app.ts'],
    ['/workspace/repo', '/workspace/repo', '.'],
    ['/workspace/repository/x', '/workspace/repo', '/workspace/repository/x'],
    ['/etc/hosts', '/workspace/repo', '/etc/hosts'],
    ['relative/path', '/workspace/repo', 'relative/path'],
    ['/workspace/repo/a', undefined, '/workspace/repo/a'],
  ])('%s under %s is %s', (path, workdir, expected) => {
    expect(repoRelativePath(path, workdir)).toBe(expected);
  });
});
