import { parseRepoUrl, RepoUrlError } from './repo-url.js';

const GITHUB = 'https://github.com';

describe('parseRepoUrl: accepted', () => {
  it.each([
    ['https://github.com/octo/hello', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    ['https://github.com/octo/hello.git', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    ['https://github.com/octo/hello/', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    ['https://github.com/octo/hello.git/', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    ['https://github.com/Octo-Cat/my_repo.v2', GITHUB, 'Octo-Cat', 'my_repo.v2', 'https://github.com/Octo-Cat/my_repo.v2'],
    // host is case-insensitive and the default port is the same origin
    ['https://GitHub.com/octo/hello', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    ['https://github.com:443/octo/hello', GITHUB, 'octo', 'hello', 'https://github.com/octo/hello'],
    // GitHub Enterprise behind a path; with or without a trailing slash on the configured base
    ['https://ghe.example.com/git/octo/hello', 'https://ghe.example.com/git', 'octo', 'hello', 'https://ghe.example.com/git/octo/hello'],
    ['https://ghe.example.com/git/octo/hello.git', 'https://ghe.example.com/git/', 'octo', 'hello', 'https://ghe.example.com/git/octo/hello'],
    // a local fake GitHub, configured as such
    ['http://127.0.0.1:40123/octo/hello.git', 'http://127.0.0.1:40123', 'octo', 'hello', 'http://127.0.0.1:40123/octo/hello'],
  ])('%s (base %s)', (input, base, owner, name, url) => {
    expect(parseRepoUrl(input, base)).toEqual({ owner, name, url });
  });
});

describe('parseRepoUrl: refused', () => {
  it.each([
    // not a URL at all
    ['github.com/octo/hello', GITHUB, /absolute URL like https:\/\/github\.com\/owner\/repo/],
    ['', GITHUB, /absolute URL/],
    ['octo/hello', GITHUB, /absolute URL/],
    ['git@github.com:octo/hello.git', GITHUB, /absolute URL/],
    // other origins: host, scheme, port
    ['https://gitlab.com/octo/hello', GITHUB, /must be on https:\/\/github\.com$/],
    ['https://github.com.evil.example/octo/hello', GITHUB, /must be on https:\/\/github\.com$/],
    ['http://github.com/octo/hello', GITHUB, /must be on https:\/\/github\.com$/],
    ['https://github.com:8443/octo/hello', GITHUB, /must be on https:\/\/github\.com$/],
    ['ssh://git@github.com/octo/hello.git', GITHUB, /must be on/],
    ['file:///etc/passwd', GITHUB, /must be on/],
    ['file:///srv/git/octo/hello', GITHUB, /must be on/],
    ['http://127.0.0.1:40124/octo/hello', 'http://127.0.0.1:40123', /must be on http:\/\/127\.0\.0\.1:40123$/],
    ['http://localhost:40123/octo/hello', 'http://127.0.0.1:40123', /must be on/],
    ['https://127.0.0.1:40123/octo/hello', 'http://127.0.0.1:40123', /must be on/],
    // credentials
    ['https://user@github.com/octo/hello', GITHUB, /must not contain credentials/],
    ['https://user:ghp_secret@github.com/octo/hello', GITHUB, /must not contain credentials/],
    ['https://:ghp_secret@github.com/octo/hello', GITHUB, /must not contain credentials/],
    // query and fragment
    ['https://github.com/octo/hello?ref=main', GITHUB, /must not have a query or fragment/],
    ['https://github.com/octo/hello#readme', GITHUB, /must not have a query or fragment/],
    // outside the configured base path
    ['https://ghe.example.com/octo/hello', 'https://ghe.example.com/git', /must be on https:\/\/ghe\.example\.com\/git$/],
    ['https://ghe.example.com/gitx/octo/hello', 'https://ghe.example.com/git', /must be on https:\/\/ghe\.example\.com\/git$/],
    ['https://ghe.example.com/git/../octo/hello', 'https://ghe.example.com/git', /must be on https:\/\/ghe\.example\.com\/git$/],
    // not exactly <owner>/<repo>
    ['https://github.com/octo/hello/tree/main', GITHUB, /must point at a repository: <owner>\/<repo>/],
    ['https://github.com/octo/hello/blob/main/README.md', GITHUB, /must point at a repository/],
    ['https://github.com/octo', GITHUB, /must point at a repository/],
    ['https://github.com/octo/', GITHUB, /must point at a repository/],
    ['https://github.com/', GITHUB, /must point at a repository/],
    ['https://github.com', GITHUB, /must be on|must point at a repository/],
    ['https://github.com//octo/hello', GITHUB, /must point at a repository/],
    ['https://github.com/octo/hello//', GITHUB, /must point at a repository/],
    // `..` is resolved by the URL parser, so it can never climb out of <owner>/<repo>
    ['https://github.com/octo/hello/..', GITHUB, /must point at a repository/],
    ['https://github.com/octo/%2e%2e', GITHUB, /must point at a repository/],
    // invalid names
    ['https://github.com/octo/..git', GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo/.git', GITHUB, /invalid owner or repository name/],
    ['https://github.com/-octo/hello', GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo_cat/hello', GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo.cat/hello', GITHUB, /invalid owner or repository name/],
    ['https://github.com/oct%20o/hello', GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo%2Fevil/hello', GITHUB, /invalid owner or repository name/],
    [`https://github.com/${'a'.repeat(40)}/hello`, GITHUB, /invalid owner or repository name/],
    [`https://github.com/octo/${'r'.repeat(101)}`, GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo/hel%20lo', GITHUB, /invalid owner or repository name/],
    ['https://github.com/octo/hel;lo', GITHUB, /invalid owner or repository name/],
  ])('%s (base %s)', (input, base, message) => {
    let thrown: unknown;
    try {
      parseRepoUrl(input, base);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(RepoUrlError);
    expect((thrown as RepoUrlError).name).toBe('RepoUrlError');
    expect((thrown as RepoUrlError).message).toMatch(message);
  });
});

describe('parseRepoUrl: edges', () => {
  it('refuses dot segments even where the URL parser would resolve them to a repository on the configured origin', () => {
    expect(() => parseRepoUrl('https://github.com/../octo/hello', GITHUB)).toThrow(/must be written as https:\/\/github\.com\/<owner>\/<repo>/);
    expect(() => parseRepoUrl('https://ghe.example.com/git/x/../octo/hello', 'https://ghe.example.com/git')).toThrow(
      /must be written as https:\/\/ghe\.example\.com\/git\/<owner>\/<repo>/,
    );
  });

  it('accepts names right at the length limits', () => {
    const owner = 'a'.repeat(39);
    const name = 'r'.repeat(100);
    expect(parseRepoUrl(`https://github.com/${owner}/${name}`, GITHUB)).toMatchObject({ owner, name });
  });
});
