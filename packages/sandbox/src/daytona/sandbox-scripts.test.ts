import { execFileSync } from 'node:child_process';
import { envFileContent, sessionCommand } from './sandbox-scripts.js';

describe('sandbox scripts', () => {
  it('writes env files that a shell reads back exactly, and refuses bad names', () => {
    const env = { A: "it's $HOME `id`", B: 'line\nbreak', EMPTY: '' };
    const out = execFileSync('sh', ['-c', `${envFileContent(env)}printf '%s\\0' "$A" "$B" "$EMPTY"`], { env: {} });
    expect(out.toString().split('\0').slice(0, -1)).toEqual([env.A, env.B, env.EMPTY]);
    expect(() => envFileContent({ 'BAD-NAME': 'x' })).toThrow(/invalid environment variable name/);
    expect(() => envFileContent({ 'A=B': 'x' })).toThrow();
  });

  it('puts no environment value into the session command', () => {
    const command = sessionCommand({ envFile: '/run/env-1', cwd: '/w', pidFile: '/run/pid-1', argv: ['claude', '-p', "fix 'it'"] });
    expect(command).toContain("'fix '\\''it'\\'''");
    expect(command).not.toMatch(/API_KEY/);
  });
});
