import type { Express } from 'express';
import { startTestApi, type TestApi } from './test-api.js';

const TOKEN = 'fast-path-admin-key';
const REPO = 'https://github.com/acme/app';

/**
 * The submit fast path answers exactly as the Express route: each request is sent once to `/api/jobs` (served
 * in front of Express) and once to `/api/jobs?via=express` (a query string: the fast path declines it and the
 * Express router serves it), and the two answers must be the same but for the job id and the Date header.
 */
describe('POST /api/jobs: fast path and Express route answer the same', () => {
  let api: TestApi;
  let baseUrl: string;
  let routed: jest.SpyInstance;

  beforeEach(async () => {
    api = await startTestApi({
      label: 'fast-submit',
      config: { name: 'tiny-backspace', version: '0.0.0-test', githubUrl: 'https://github.com', defaultAgent: 'claude-code', sseHeartbeatMs: 50, apiToken: TOKEN },
    });
    baseUrl = api.baseUrl;
    // Which requests reached Express's router: the fast path's must not.
    routed = jest.spyOn((api.app as Express & { router: { handle: () => void } }).router, 'handle');
  });
  afterEach(() => api.close());

  interface Answer {
    status: number;
    headers: Record<string, string>;
    body: string;
  }
  const send = async (path: string, body: string, headers: Record<string, string>): Promise<Answer> => {
    const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const all = Object.fromEntries([...res.headers.entries()].filter(([name]) => name !== 'date'));
    return { status: res.status, headers: all, body: await res.text() };
  };
  /** The same request through both paths; the job ids they create are made comparable. */
  const both = async (body: string, headers: Record<string, string> = {}, opts: { fast: boolean } = { fast: true }) => {
    const before = routed.mock.calls.length;
    const fast = await send('/api/jobs', body, headers);
    expect(routed.mock.calls.length - before).toBe(opts.fast ? 0 : 1);
    const viaExpress = await send('/api/jobs?via=express', body, headers);
    expect(routed.mock.calls.length - before).toBe(opts.fast ? 1 : 2);
    const anonymous = (a: Answer) => JSON.parse(JSON.stringify(a).replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<id>')) as Answer;
    expect(anonymous(fast)).toEqual(anonymous(viaExpress));
    return { fast, viaExpress };
  };
  const auth = { authorization: `Bearer ${TOKEN}` };
  const job = JSON.stringify({ repo_url: REPO, prompt: 'Add a README' });

  it('a valid submit: 202, Location, the same body; the job is queued with job.queued', async () => {
    const { fast } = await both(job, auth);
    expect(fast.status).toBe(202);
    const { id } = JSON.parse(fast.body) as { id: string };
    expect(fast.headers['location']).toBe(`/api/jobs/${id}`);
    expect(await api.queue.getJob(id)).toMatchObject({ state: 'waiting', data: { prompt: 'Add a README', tenant: 'admin' } });
    expect(await api.events.getStatus(id)).toMatchObject({ id, state: 'queued' });
  });

  it('an idempotent replay: 200 with Idempotent-Replayed and the first job', async () => {
    const first = await send('/api/jobs', job, { ...auth, 'idempotency-key': 'k-1' });
    expect(first.status).toBe(202);
    const { fast, viaExpress } = await both(job, { ...auth, 'idempotency-key': 'k-1' });
    expect(fast.status).toBe(200);
    expect(fast.headers['idempotent-replayed']).toBe('true');
    expect(JSON.parse(fast.body)).toEqual(JSON.parse(first.body));
    expect(JSON.parse(viaExpress.body)).toEqual(JSON.parse(first.body));
    expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('invalid JSON, a non-object top level and a bad Idempotency-Key: the same 400s', async () => {
    expect((await both('{"repo_url": ', auth)).fast.status).toBe(400);
    expect(JSON.parse((await both('"just a string"', auth)).fast.body)).toEqual({ error: { code: 'invalid_request', message: 'request body is not valid JSON' } });
    expect((await both('[1, 2]', auth)).fast.status).toBe(400);
    expect((await both('', auth)).fast.status).toBe(400);
    expect((await both(JSON.stringify({ repo_url: REPO }), auth)).fast.status).toBe(400);
    expect((await both(JSON.stringify({ repo_url: 'https://gitlab.com/a/b', prompt: 'x' }), auth)).fast.status).toBe(400);
    expect((await both(job, { ...auth, 'idempotency-key': 'has space' })).fast.status).toBe(400);
    expect(await api.queue.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('no key or a wrong key: the same 401 with its challenge; invalid JSON is still a 400 first, as in Express', async () => {
    const { fast } = await both(job);
    expect(fast.status).toBe(401);
    expect(fast.headers['www-authenticate']).toBe('Bearer');
    expect((await both(job, { authorization: 'Bearer wrong' })).fast.status).toBe(401);
    expect((await both('{nope', { authorization: 'Bearer wrong' })).fast.status).toBe(400);
  });

  it('an oversize body and other unusual requests are left to Express, which answers as before', async () => {
    const huge = JSON.stringify({ repo_url: REPO, prompt: 'x'.repeat(300 * 1024) });
    const { fast } = await both(huge, auth, { fast: false });
    expect(fast.status).toBe(413);
    // Another media type: Express's JSON parser skips it, so the body is missing.
    expect((await both(job, { ...auth, 'content-type': 'text/plain' }, { fast: false })).fast.status).toBe(400);
  });
});
