import { statSync } from 'node:fs';
import { resolveClaudeExecutable } from './resolve-claude-executable.js';

describe('resolveClaudeExecutable', () => {
  it('finds the real native binary, not the npm stub', () => {
    const exe = resolveClaudeExecutable();
    expect(exe).toMatch(/claude(\.exe)?$/);
    expect(statSync(exe).size).toBeGreaterThan(1024 * 1024);
  });
});
