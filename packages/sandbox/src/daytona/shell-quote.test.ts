import { execFileSync } from 'node:child_process';
import { shellJoin, shellQuote } from './shell-quote.js';

const hostile = [
  '',
  ' ',
  'a b',
  "'",
  "''",
  "it's",
  "'; rm -rf / #",
  '"$(touch /tmp/pwned)"',
  '`id`',
  '$HOME',
  '${IFS}',
  '*',
  '?',
  '[a]',
  '~',
  '~root',
  '-n',
  '--',
  'a\nb',
  'tab\there',
  '\\',
  '\\\'',
  'back\\slash\'quote"double',
  '!history',
  'a;b|c&d>e<f',
  '#comment',
  '=',
  'é ünïcödé 🚀',
  '\u0001\u0002\u0003',
  "'\\''",
];

describe('shellQuote', () => {
  it('leaves plain words readable and quotes everything else', () => {
    expect(shellQuote('git')).toBe('git');
    expect(shellQuote('/usr/bin/env')).toBe('/usr/bin/env');
    expect(shellQuote('--max-turns=3')).toBe('--max-turns=3');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
  });

  it('refuses NUL', () => {
    expect(() => shellQuote('a\0b')).toThrow(TypeError);
  });

  it.each(['sh', 'bash'])('round-trips hostile strings through a real %s unchanged', (shell) => {
    // printf '%s\0' prints each word as the shell parsed it; any expansion or split would show.
    const out = execFileSync(shell, ['-c', `printf '%s\\0' ${shellJoin(hostile)}`], { env: { PATH: process.env['PATH'] ?? '' } });
    expect(out.toString('utf8').split('\0').slice(0, -1)).toEqual(hostile);
  });

  it('keeps each argument one word', () => {
    const out = execFileSync('sh', ['-c', `printf '%s|' ${shellJoin(['a b', '', "c'd"])}`]);
    expect(out.toString()).toBe("a b||c'd|");
  });
});
