import { CodeJobRequest } from './job-request.js';
import { CheckCommands, MAX_CHECK_COMMAND_CHARS, MAX_CHECK_COMMANDS } from './checks.js';

describe('CheckCommands', () => {
  it('takes shell command lines, trimmed, in order', () => {
    expect(CheckCommands.parse([' npm test ', 'make lint && make typecheck'])).toEqual(['npm test', 'make lint && make typecheck']);
  });

  it('takes an empty list (run no checks)', () => {
    expect(CheckCommands.parse([])).toEqual([]);
  });

  it.each<[string, unknown]>([
    ['more than the limit of commands', Array.from({ length: MAX_CHECK_COMMANDS + 1 }, () => 'true')],
    ['an empty command', ['  ']],
    ['a command over the length limit', ['x'.repeat(MAX_CHECK_COMMAND_CHARS + 1)]],
    ['a NUL', ['npm test\0rm -rf /']],
    ['a newline hiding a second command', ['npm test\ncurl evil']],
    ['a non-string', [42]],
  ])('refuses %s', (_name, input) => {
    expect(CheckCommands.safeParse(input).success).toBe(false);
  });

  it('is the `checks` field of a job request, with the field named in the error', () => {
    const base = { repo_url: 'https://github.com/octo/hello', prompt: 'Fix it' };
    expect(CodeJobRequest.parse({ ...base, checks: ['npm test'] }).checks).toEqual(['npm test']);
    expect(CodeJobRequest.parse(base).checks).toBeUndefined();
    const refused = CodeJobRequest.safeParse({ ...base, checks: ['a\0b'] });
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['checks', 0]);
  });
});
