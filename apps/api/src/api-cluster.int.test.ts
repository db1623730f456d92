import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TinyBackspaceClient } from '@tinyb/client';
import { RedisJobEvents } from '@tinyb/events';
import { RedisFixture } from '@tinyb/testkit/redis';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `pnpm start`'s entry with API_PROCESSES=2: a primary and two API processes on one port. */
describe('API_PROCESSES (real processes on one port, real Redis)', () => {
  let fixture: RedisFixture;
  let primary: ChildProcess | undefined;
  let events: RedisJobEvents;
  let baseUrl: string;

  beforeEach(async () => {
    fixture = new RedisFixture('cluster');
    events = new RedisJobEvents({ redis: fixture.connect(), keyPrefix: fixture.prefix });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    primary = spawn(process.execPath, ['--import', 'tsx', 'src/start.ts'], {
      cwd: `${__dirname}/..`,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: String(port), HOST: '127.0.0.1', API_PROCESSES: '2', REDIS_PREFIX: fixture.prefix, TINYB_DOTENV: 'off', LOG_LEVEL: 'warn', GITHUB_URL: 'https://github.com', ...(process.env['REDIS_URL'] ? { REDIS_URL: process.env['REDIS_URL'] } : {}) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const deadline = Date.now() + 30_000;
    while (!(await fetch(`${baseUrl}/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error('the API cluster did not become ready');
      await sleep(200);
    }
  }, 40_000);

  afterEach(async () => {
    if (primary && primary.exitCode === null) {
      const exited = new Promise((resolve) => primary!.once('exit', resolve));
      primary.kill('SIGTERM');
      await exited;
    }
    await events.close();
    await fixture.cleanup();
  }, 20_000);

  /** Opens a stream, returns the pid that serves it (X-Api-Pid) and the ids of the events read until `count`. */
  const readStream = async (jobId: string, count: number, lastEventId?: string) => {
    // Bounded: a stream that does not deliver its history within 10 s fails the read instead of hanging the test.
    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, {
      headers: lastEventId ? { 'last-event-id': lastEventId } : {},
      signal: AbortSignal.timeout(10_000),
    });
    expect(res.status).toBe(200);
    const pid = Number(res.headers.get('x-api-pid'));
    const reader = res.body!.getReader();
    let text = '';
    while ((text.match(/^id: /gm) ?? []).length < count) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    return { pid, ids: [...text.matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!), text };
  };

  it('serves streams from both processes, restarts a killed one, and Last-Event-ID resumes across it', async () => {
    const client = new TinyBackspaceClient({ baseUrl });
    const { id } = await client.submit({ repo_url: 'https://github.com/acme/app', prompt: 'x' });
    await events.publish(id, { type: 'agent.message', text: 'one' });
    // /ready answered as soon as one process listened; the other may still be starting: keep opening
    // streams (a few at a time) until both processes have served one, or the deadline passes.
    const streams: Awaited<ReturnType<typeof readStream>>[] = [];
    const spreadBy = Date.now() + 20_000;
    while (new Set(streams.map((s) => s.pid)).size < 2 && Date.now() < spreadBy) {
      streams.push(...(await Promise.all(Array.from({ length: 4 }, () => readStream(id, 2)))));
      if (new Set(streams.map((s) => s.pid)).size < 2) await sleep(250);
    }
    const pids = new Set(streams.map((s) => s.pid));
    expect(pids.size).toBe(2);
    for (const s of streams) expect(s.ids).toHaveLength(2);

    // Kill one API process outright: the primary starts another, the port keeps answering.
    const [victim] = [...pids];
    process.kill(victim!, 'SIGKILL');
    await events.publish(id, { type: 'agent.message', text: 'two' });
    await events.publish(id, { type: 'agent.message', text: 'three' });
    const served = new Set<number>();
    const deadline = Date.now() + 30_000;
    while (served.size < 2 || served.has(victim!)) {
      if (Date.now() > deadline) throw new Error(`no replacement process (served by ${[...served].join(', ')})`);
      // Only the survivor and the replacement can answer now.
      const { pid, ids } = await readStream(id, 4).catch(() => ({ pid: 0, ids: [] as string[] }));
      if (pid !== 0) {
        served.add(pid);
        expect(ids).toHaveLength(4);
      }
      await sleep(100);
    }
    expect(served.has(victim!)).toBe(false);

    // A client that had the first two events resumes after the second, on whichever process: exactly the rest.
    const resumed = await readStream(id, 2, streams[0]!.ids[1]);
    expect(resumed.text).toContain('three');
    expect(resumed.text).not.toContain('"one"');
    expect(resumed.ids).toHaveLength(2);
  }, 60_000);
});
