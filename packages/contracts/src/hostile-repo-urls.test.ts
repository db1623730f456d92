import fc from 'fast-check';
import { HOSTILE_REPO_URLS, HOSTILE_REPO_URL_GITHUB as GITHUB } from './hostile-repo-urls.js';
import { parseRepoUrl, RepoUrlError, type RepoRef } from './repo-url.js';

/** The error parseRepoUrl threw, or the ref it returned. */
function attempt(input: string, base = GITHUB): RepoRef | RepoUrlError {
  try {
    return parseRepoUrl(input, base);
  } catch (err) {
    if (err instanceof RepoUrlError) return err;
    throw err; // anything else is a bug: the property fails with it
  }
}

describe('the hostile repo_url corpus', () => {
  it('is large, has no duplicates and says why for each entry', () => {
    expect(HOSTILE_REPO_URLS.length).toBeGreaterThanOrEqual(100);
    const keys = HOSTILE_REPO_URLS.map((e) => `${e.githubUrl} ${e.url}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(HOSTILE_REPO_URLS.every((e) => e.why.length > 0)).toBe(true);
  });

  it.each(HOSTILE_REPO_URLS.map((e) => [e.why, JSON.stringify(e.url.slice(0, 120)), e] as const))(
    'refuses %s: %s',
    (_why, _shown, { url, githubUrl }) => {
      const result = attempt(url, githubUrl);
      expect(result).toBeInstanceOf(RepoUrlError);
      expect((result as RepoUrlError).message).toMatch(/^repo_url /);
    },
  );
});

// Names as GitHub allows them, so the properties below also prove the rule is not "refuse everything".
const alnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
const owner = fc
  .array(fc.tuple(fc.boolean(), alnum), { minLength: 0, maxLength: 18 })
  .chain((rest) => alnum.map((first) => first + rest.map(([dash, c]) => (dash ? `-${c}` : c)).join('')));
const repo = fc
  .tuple(fc.constantFrom(...'abcXYZ019._'), fc.stringMatching(/^[A-Za-z0-9._-]{0,40}$/))
  .map(([first, rest]) => first + rest)
  .filter((name) => name !== '.' && name !== '..' && name.replace(/\.git$/, '') !== '' && !/^\.{1,2}\.git$/.test(name));
const suffix = fc.constantFrom('', '/', '.git', '.git/');

describe('parseRepoUrl, property-based', () => {
  it('accepts every canonical URL and returns it without .git or trailing slash', () => {
    fc.assert(
      fc.property(owner, repo, suffix, (o, r, s) => {
        const ref = parseRepoUrl(`${GITHUB}/${o}/${r}${s}`, GITHUB);
        const name = `${r}${s}`.replace(/\/$/, '').replace(/\.git$/, '');
        expect(ref).toEqual({ owner: o, name, url: `${GITHUB}/${o}/${name}` });
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a canonical URL with a hostile character inserted anywhere', () => {
    const hostile = fc.constantFrom(' ', '\t', '\n', '\r', '\0', '\\', '%', '?', '#', '@', '\u00a0', '\u0456', '\uff0e', '\u200b');
    fc.assert(
      fc.property(owner, repo, suffix, hostile, fc.nat(), (o, r, s, c, at) => {
        const url = `${GITHUB}/${o}/${r}${s}`;
        const i = at % (url.length + 1);
        expect(attempt(url.slice(0, i) + c + url.slice(i))).toBeInstanceOf(RepoUrlError);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a canonical URL with a dot segment at any slash', () => {
    fc.assert(
      fc.property(owner, repo, fc.constantFrom('.', '..', '%2e', '%2e%2e', '.%2E'), fc.nat(), (o, r, dots, at) => {
        const url = `${GITHUB}/${o}/${r}`;
        const slashes = [...url.matchAll(/\//g)].map((m) => m.index).slice(2); // past `https://`
        const i = slashes[at % slashes.length]!;
        expect(attempt(`${url.slice(0, i)}/${dots}${url.slice(i)}`)).toBeInstanceOf(RepoUrlError);
      }),
      { numRuns: 50 },
    );
  });

  it('for any string, throws only RepoUrlError, and whatever it accepts is canonical and round-trips', () => {
    const nearMisses = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 80 }),
      fc.webUrl({ withQueryParameters: true, withFragments: true }),
      fc
        .tuple(fc.constantFrom('https://github.com', 'https://GITHUB.com:443', 'http://github.com', 'https:github.com'), fc.webPath())
        .map(([origin, path]) => origin + path),
    );
    fc.assert(
      fc.property(nearMisses, (input) => {
        const result = attempt(input);
        if (result instanceof RepoUrlError) return;
        expect(parseRepoUrl(result.url, GITHUB)).toEqual(result);
        expect(input.toLowerCase().startsWith('https://github.com')).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
