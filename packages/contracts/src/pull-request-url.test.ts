import { CodeJobRequest, LegacyCodeRequest } from './job-request.js';
import { PullRequestUrlError, parsePullRequestUrl } from './pull-request-url.js';
import { RepoUrlError } from './repo-url.js';

const GITHUB = 'https://github.com';

describe('parsePullRequestUrl', () => {
  it('takes the canonical form, with or without a trailing slash', () => {
    expect(parsePullRequestUrl('https://github.com/acme/app/pull/12', GITHUB)).toEqual({
      repo: { owner: 'acme', name: 'app', url: 'https://github.com/acme/app' },
      number: 12,
      url: 'https://github.com/acme/app/pull/12',
    });
    expect(parsePullRequestUrl('https://github.com/acme/app/pull/7/', GITHUB).number).toBe(7);
  });

  it('works under a GitHub Enterprise path and port', () => {
    expect(parsePullRequestUrl('http://127.0.0.1:9999/ghe/acme/app/pull/3', 'http://127.0.0.1:9999/ghe').url).toBe(
      'http://127.0.0.1:9999/ghe/acme/app/pull/3',
    );
  });

  it.each([
    ['another host', 'https://gitlab.com/acme/app/pull/1'],
    ['a .git repository', 'https://github.com/acme/app.git/pull/1'],
    ['a double slash', 'https://github.com/acme/app//pull/1'],
    ['a sub-page', 'https://github.com/acme/app/pull/1/files'],
    ['a query', 'https://github.com/acme/app/pull/1?diff=split'],
    ['a fragment', 'https://github.com/acme/app/pull/1#discussion_r1'],
    ['number zero', 'https://github.com/acme/app/pull/0'],
    ['a leading zero', 'https://github.com/acme/app/pull/01'],
    ['a non-number', 'https://github.com/acme/app/pull/abc'],
    ['an issue', 'https://github.com/acme/app/issues/1'],
    ['pulls (the API spelling)', 'https://github.com/acme/app/pulls/1'],
    ['no repository', 'https://github.com/acme/pull/1'],
    ['credentials', 'https://user:pw@github.com/acme/app/pull/1'],
    ['dot segments', 'https://github.com/acme/../app/pull/1'],
    ['percent-encoding', 'https://github.com/acm%65/app/pull/1'],
    ['a huge number', 'https://github.com/acme/app/pull/9999999999999999'],
    ['a newline', 'https://github.com/acme/app/pull/1\n'],
  ])('refuses %s', (_name, input) => {
    expect(() => parsePullRequestUrl(input, GITHUB)).toThrow(PullRequestUrlError);
  });

  it('names pr_url in its messages, and is a RepoUrlError for callers that map those', () => {
    const err = (() => {
      try {
        parsePullRequestUrl('https://gitlab.com/acme/app/pull/1', GITHUB);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(RepoUrlError);
    expect((err as Error).message).toMatch(/^pr_url /);
  });
});

describe('follow-up requests', () => {
  it('take pr_url or parent_job_id instead of repo_url', () => {
    expect(CodeJobRequest.parse({ pr_url: 'https://github.com/a/b/pull/1', prompt: 'x' })).toEqual({ pr_url: 'https://github.com/a/b/pull/1', prompt: 'x' });
    expect(CodeJobRequest.parse({ parent_job_id: 'abc-1', prompt: 'x' })).toEqual({ parent_job_id: 'abc-1', prompt: 'x' });
  });

  it('refuse a request that names no repository at all, and a base branch on a follow-up', () => {
    expect(CodeJobRequest.safeParse({ prompt: 'x' }).error?.issues[0]).toMatchObject({ path: ['repo_url'] });
    expect(CodeJobRequest.safeParse({ pr_url: 'https://github.com/a/b/pull/1', prompt: 'x', base_branch: 'dev' }).error?.issues[0]).toMatchObject({
      path: ['base_branch'],
    });
    expect(CodeJobRequest.safeParse({ parent_job_id: '../etc', prompt: 'x' }).success).toBe(false);
  });

  it('POST /code takes prUrl', () => {
    expect(LegacyCodeRequest.parse({ prUrl: 'https://github.com/a/b/pull/2', prompt: 'x' })).toEqual({ pr_url: 'https://github.com/a/b/pull/2', prompt: 'x' });
    expect(LegacyCodeRequest.safeParse({ prompt: 'x' }).error?.issues[0]).toMatchObject({ path: ['repo_url'], message: 'is required' });
  });
});
