import { request } from 'node:http';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CodeJobData, ErrorBody } from '@tinyb/contracts';
import { HOSTILE_REPO_URLS } from '@tinyb/contracts/hostile-repo-urls';
import { silentLogger, type Logger } from '@tinyb/core';
import { startTestApi, type TestApi } from './test-api.js';

/**
 * Property-based requests against the real app (real Redis, in-process): whatever arrives, the answer is
 * a 2xx for a valid job or a 4xx in the error shape, never a 5xx, never a crash, never a polluted prototype.
 * About 300 requests in all, so it stays within seconds.
 */

const REPO = 'https://github.com/octo/hello';
const BODY_LIMIT_BYTES = 256 * 1024;

interface Answer {
  status: number;
  contentType: string;
  text: string;
}

let api: TestApi;
let queue: TestApi['queue'];
let port: number;
/** What the app logged at error level: an unhandled error is a failure even when the client got a 4xx. */
const loggedErrors: unknown[] = [];
const prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();

beforeAll(async () => {
  const logger: Logger = { ...silentLogger, error: (fields) => void loggedErrors.push(fields), child: () => logger };
  api = await startTestApi({
    label: 'api-fuzz',
    config: { name: 'tiny-backspace', version: '0.0.0-test', githubUrl: 'https://github.com', defaultAgent: 'claude-code', sseHeartbeatMs: 1_000 },
    logger,
  });
  await api.agents.advertise({ workerId: 'w1', agents: [{ name: 'claude-code' }], sandbox: 'local', startedAt: new Date().toISOString() });
  queue = api.queue;
  port = Number(new URL(api.baseUrl).port);
});

afterAll(() => api.close());

afterEach(async () => {
  // Still up, nothing logged as unhandled, and nobody wrote onto Object.prototype (the app runs in this process).
  expect((await send({ method: 'GET', path: '/health' })).status).toBe(200);
  expect(loggedErrors.splice(0)).toEqual([]);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
});

/**
 * One raw HTTP request (node:http, so any header, encoding or body goes out as given). An event stream
 * (an accepted POST /code) is judged by its head and closed.
 */
function send(opts: { method?: string; path: string; headers?: Record<string, string>; body?: string | Uint8Array }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path, headers: opts.headers ?? {} }, (res) => {
      const contentType = res.headers['content-type'] ?? '';
      if (contentType.startsWith('text/event-stream')) {
        res.destroy();
        return resolve({ status: res.statusCode!, contentType, text: '' });
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, contentType, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** Why an answer breaks the API's promise, or null: 2xx for an accepted job, else 4xx `{ error: { code, message } }`. */
function broken(answer: Answer, accepted: readonly number[] = [200, 202]): string | null {
  if (accepted.includes(answer.status)) return null;
  if (answer.status < 400 || answer.status >= 500) return `status ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (!answer.contentType.startsWith('application/json')) return `status ${answer.status} as ${answer.contentType}`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `status ${answer.status}, not JSON: ${answer.text.slice(0, 300)}`;
  }
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success || Object.keys(body as object).join() !== 'error') return `not the error shape: ${answer.text.slice(0, 300)}`;
  return null;
}

function expectKept(answer: Answer, accepted?: readonly number[]): void {
  expect(broken(answer, accepted)).toBeNull();
}

const submitPaths = fc.constantFrom('/api/jobs', '/code', '/api/code');
const hugeString = fc.integer({ min: 2_049, max: 120_000 }).map((n) => 'x'.repeat(n));
const anyJson = fc.jsonValue({ maxDepth: 4 });
/** A field's value: often right, often the wrong type, sometimes huge or deeply nested. */
const fieldValue = (right: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 3, arbitrary: right },
    { weight: 2, arbitrary: anyJson },
    { weight: 1, arbitrary: hugeString },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((depth) => JSON.parse('['.repeat(depth) + ']'.repeat(depth)) as unknown) },
  );
const hostileUrl = fc.constantFrom(...HOSTILE_REPO_URLS.map((e) => e.url));
const requestShaped = fc.record(
  {
    repo_url: fieldValue(fc.oneof(fc.constant(REPO), hostileUrl)),
    repoUrl: fieldValue(fc.oneof(fc.constant(REPO), hostileUrl)),
    prompt: fieldValue(fc.string({ minLength: 1, maxLength: 200 })),
    agent: fieldValue(fc.constantFrom('claude-code', 'gemini', 'toString', '__proto__')),
    model: fieldValue(fc.string({ maxLength: 40 })),
    base_branch: fieldValue(fc.constantFrom('main', 'release/1.x', '-main', 'a..b')),
    draft: fieldValue(fc.boolean()),
    requested_by: fieldValue(fc.string({ maxLength: 40 })),
    max_cost_usd: fieldValue(fc.double({ noNaN: true })),
    max_tokens: fieldValue(fc.integer()),
  },
  { requiredKeys: [] },
);
/** Keys that would reach Object.prototype if anything merged a body naively. */
const pollutingKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf');
const pollution = fc.constantFrom<unknown>({ polluted: true }, { prototype: { polluted: true } }, 'polluted', null, 1);

/** Checks an accepted job really is one: its queued data is valid CodeJobData on an allowed repository. */
async function expectRealJob(answer: Answer): Promise<void> {
  if (answer.status !== 202) return;
  const { id } = JSON.parse(answer.text) as { id: string };
  const job = await queue.getJob(id);
  expect(CodeJobData.parse(job?.data).repo.url).toBe(REPO);
}

describe('the real app under property-based requests', () => {
  it('answers any JSON value with a 2xx job or a 4xx error shape', async () => {
    await fc.assert(
      fc.asyncProperty(submitPaths, anyJson, async (path, value) => {
        expectKept(await send({ path, ...json(value) }));
      }),
      { numRuns: 50 },
    );
  });

  it('answers request-shaped objects with wrong types, huge strings, deep nesting and prototype keys', async () => {
    await fc.assert(
      fc.asyncProperty(submitPaths, requestShaped, fc.option(fc.tuple(pollutingKey, pollution)), async (path, fields, polluting) => {
        let body = JSON.stringify(fields);
        // Written into the JSON text, since an object literal's `__proto__` would set its prototype instead.
        if (polluting) body = `{${JSON.stringify(polluting[0])}:${JSON.stringify(polluting[1])}${body === '{}' ? '' : ','}${body.slice(1)}`;
        const answer = await send({ path, headers: { 'content-type': 'application/json' }, body });
        expectKept(answer);
        await expectRealJob(answer);
        // Only a canonical URL may ever make a job.
        if (answer.status === 202 || answer.status === 200) {
          const url = path === '/api/jobs' || fields.repo_url !== undefined ? fields.repo_url : fields.repoUrl;
          expect(url).toBe(REPO);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('answers raw non-JSON bodies with a 400 in the error shape', async () => {
    const rawBody = fc.oneof(
      fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
      fc.uint8Array({ maxLength: 2_000 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v).slice(0, -1))), // truncated JSON
    );
    await fc.assert(
      fc.asyncProperty(submitPaths, rawBody, async (path, body) => {
        expectKept(await send({ path, headers: { 'content-type': 'application/json' }, body }), []);
      }),
      { numRuns: 40 },
    );
  });

  it('answers a valid body under any content type or encoding with a 2xx job or a 4xx error shape', async () => {
    const contentType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'application/json; charset=utf-16',
        'application/json; charset=latin1',
        'application/json; charset',
        'application/vnd.api+json',
        'text/plain',
        'text/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        '*/*',
        ';;;',
      ),
      fc.stringMatching(/^[\x20-\x7e]{0,60}$/),
    );
    const encoding = fc.constantFrom('identity', 'gzip', 'x-gzip', 'deflate', 'br', 'zstd', 'gzip, gzip', 'bogus');
    const encodeAs = fc.constantFrom('right', 'wrong', 'garbage');
    const valid = { repo_url: REPO, prompt: 'Add a README' };
    await fc.assert(
      fc.asyncProperty(submitPaths, contentType, fc.option(encoding), encodeAs, async (path, type, enc, how) => {
        const text = Buffer.from(JSON.stringify(valid));
        const compress = (name: string | null) =>
          name === 'gzip' || name === 'x-gzip' ? gzipSync(text) : name === 'deflate' ? deflateSync(text) : name === 'br' ? brotliCompressSync(text) : text;
        const body = how === 'garbage' ? Buffer.from('\x1f\x8b this is not compressed') : how === 'right' ? compress(enc) : compress('gzip');
        const headers: Record<string, string> = { 'content-type': type };
        if (enc) headers['content-encoding'] = enc;
        const answer = await send({ path, headers, body });
        expectKept(answer);
        await expectRealJob(answer);
      }),
      { numRuns: 40 },
    );
  });

  it('answers bodies over the limit with a 413 in the error shape, compressed or chunked alike', async () => {
    await fc.assert(
      fc.asyncProperty(
        submitPaths,
        fc.integer({ min: BODY_LIMIT_BYTES + 1, max: 4 * BODY_LIMIT_BYTES }),
        fc.constantFrom('plain', 'chunked', 'gzip'),
        async (path, size, framing) => {
          const text = JSON.stringify({ repo_url: REPO, prompt: 'x'.repeat(size) });
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          let body: Buffer = Buffer.from(text);
          if (framing === 'chunked') headers['transfer-encoding'] = 'chunked';
          if (framing === 'gzip') {
            headers['content-encoding'] = 'gzip';
            body = gzipSync(body); // a few KB on the wire that inflate past the limit
          }
          const answer = await send({ path, headers, body });
          expect(answer.status).toBe(413);
          expectKept(answer, []);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('answers arbitrary job ids, Last-Event-IDs and Idempotency-Keys with a 4xx error shape (or a job)', async () => {
    const visible = fc.stringMatching(/^[\x21-\x7e]{0,300}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), visible),
        visible,
        fc.constantFrom('GET', 'DELETE', 'GET-events', 'POST-idempotent'),
        async (id, header, kind) => {
          const jobPath = `/api/jobs/${encodeURIComponent(id)}`;
          const answer =
            kind === 'POST-idempotent'
              ? await send({ path: '/api/jobs', ...json({ repo_url: REPO, prompt: 'x' }), headers: { 'content-type': 'application/json', 'idempotency-key': header } })
              : kind === 'GET-events'
                ? await send({ method: 'GET', path: `${jobPath}/events`, headers: { 'last-event-id': header } })
                : await send({ method: kind, path: jobPath });
          expectKept(answer);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('regressions found by fuzzing', () => {
  it.each([
    ['gzip', Buffer.from('not gzip at all')],
    ['deflate', Buffer.from('not deflate either')],
    ['br', Buffer.from('nor brotli')],
  ])('a corrupt %s body is a 400 in the error shape, not a logged 500', async (encoding, body) => {
    const answer = await send({ path: '/api/jobs', headers: { 'content-type': 'application/json', 'content-encoding': encoding }, body });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.text)).toEqual({ error: { code: 'invalid_request', message: 'request body could not be read' } });
  });

  it('a compression bomb stops at the body limit with a 413', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MB of spaces in ~50 KB
    const answer = await send({ path: '/api/jobs', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: bomb });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.text)).toEqual({ error: { code: 'invalid_request', message: 'request body is too large' } });
  });
});
