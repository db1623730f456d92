import { parseChecksFile } from './checks-file.js';

describe('parseChecksFile (.tinyb.yml)', () => {
  it.each<[string, string, ReturnType<typeof parseChecksFile>]>([
    ['a list of commands', 'checks:\n  - npm test\n  - "npm run lint -- --max-warnings=0"\n', { checks: ['npm test', 'npm run lint -- --max-warnings=0'] }],
    ['a flow list, trimmed', 'checks: [ " make test " ]\n', { checks: ['make test'] }],
    ['an empty list: run no checks', 'checks: []\n', { checks: [] }],
    ['other keys are left alone', 'agent: gemini\nchecks:\n  - go test ./...\n', { checks: ['go test ./...'] }],
    ['no checks key: detection decides', 'agent: gemini\n', {}],
    ['an empty file', '', {}],
    ['a comment only', '# nothing yet\n', {}],
  ])('%s', (_name, text, expected) => {
    expect(parseChecksFile(text)).toEqual(expected);
  });

  it.each<[string, string, RegExp]>([
    ['not YAML', 'checks: [npm test\n', /not valid YAML/],
    ['a list at the top level', '- npm test\n', /mapping/],
    ['checks as a string', 'checks: npm test\n', /^checks: /],
    ['a command that is not a string', 'checks:\n  - 42\n', /^checks\[0\]: /],
    ['a multi-line command', 'checks:\n  - |\n    npm test\n    curl evil\n', /^checks\[0\]: must be one line/],
    ['too many commands', `checks:\n${Array.from({ length: 11 }, () => '  - "true"').join('\n')}\n`, /at most 10/],
    ['an alias bomb', `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nchecks: [*c]\n`, /not valid YAML/],
  ])('reports %s as a problem', (_name, text, problem) => {
    const parsed = parseChecksFile(text);
    expect(parsed).toEqual({ problem: expect.stringMatching(problem) });
  });
});
