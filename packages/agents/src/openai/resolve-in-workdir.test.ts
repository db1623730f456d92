import { resolveInWorkdir } from './resolve-in-workdir.js';

const workdir = '/workspace/repo';

describe('resolveInWorkdir', () => {
  it.each([
    ['src/a.ts', '/workspace/repo/src/a.ts'],
    ['./src/../b.md', '/workspace/repo/b.md'],
    ['.', '/workspace/repo'],
    ['/workspace/repo/c.txt', '/workspace/repo/c.txt'],
    ['/workspace/repo', '/workspace/repo'],
  ])('accepts %s', (requested, expected) => {
    expect(resolveInWorkdir(workdir, requested)).toEqual({ ok: true, path: expected });
  });

  it('defaults to the repository root', () => {
    expect(resolveInWorkdir(`${workdir}/`, undefined)).toEqual({ ok: true, path: workdir });
  });

  it.each(['../scratch/x', 'src/../../x', '/etc/passwd', '/workspace/repository-evil/x', '/workspace', 'a/../../../../etc'])(
    'refuses %s',
    (requested) => {
      const r = resolveInWorkdir(workdir, requested);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toContain('outside the repository');
    },
  );

  it('refuses empty paths and NUL bytes', () => {
    expect(resolveInWorkdir(workdir, '  ')).toEqual({ ok: false, error: 'path is empty' });
    expect(resolveInWorkdir(workdir, 'a\0b').ok).toBe(false);
  });
});
