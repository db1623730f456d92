import { checkFixPrompt } from './check-fix-prompt.js';
import type { CheckRun } from '../ports/check-runner.js';

const failed = (command: string, outputTail: string, more: Partial<CheckRun> = {}): CheckRun => ({
  command,
  setup: false,
  exitCode: 1,
  timedOut: false,
  durationMs: 1200,
  passed: false,
  outputTail,
  ...more,
});

describe('checkFixPrompt', () => {
  it('names each failed check, how it ended and its output, after the task', () => {
    const prompt = checkFixPrompt('Add a greeting', [failed('npm test', 'AssertionError: expected Hello'), failed('go vet', '', { exitCode: null, timedOut: true, durationMs: 600_000 })]);
    expect(prompt.indexOf('Add a greeting')).toBeLessThan(prompt.indexOf('npm test'));
    expect(prompt).toContain('### `npm test` (exit code 1)\n```text\nAssertionError: expected Hello\n```');
    expect(prompt).toContain('### `go vet` (timed out after 600 s)');
    expect(prompt).toContain('(no output)');
  });

  it('keeps output that holds code fences inside its own fence', () => {
    const prompt = checkFixPrompt('t', [failed('npm test', 'before\n```\nafter ````')]);
    expect(prompt).toContain('`````text\nbefore\n```\nafter ````\n`````');
  });

  it('stays well under the 128 KiB argv limit, keeping the end of each output', () => {
    const huge = `${'a'.repeat(100_000)}THE END`;
    const prompt = checkFixPrompt('x'.repeat(20_000), Array.from({ length: 10 }, (_, i) => failed(`check ${i}`, huge)));
    expect(Buffer.byteLength(prompt)).toBeLessThan(40_000);
    expect(prompt).toContain('THE END');
  });
});
