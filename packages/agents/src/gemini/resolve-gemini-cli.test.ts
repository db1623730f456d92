import { readFileSync } from 'node:fs';
import { resolveGeminiCli } from './resolve-gemini-cli.js';

describe('resolveGeminiCli', () => {
  it('finds the installed CLI’s JS entry by its real path', () => {
    const entry = resolveGeminiCli();
    expect(entry).toMatch(/@google\/gemini-cli\/bundle\/gemini\.js$/);
    expect(entry).not.toContain('/packages/agents/node_modules/');
    expect(readFileSync(entry, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  });
});
