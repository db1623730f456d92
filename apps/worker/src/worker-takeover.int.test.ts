import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TinyBackspaceClient } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * A worker that dies mid-job (SIGKILL: no chance to hand anything back) costs seconds: another worker takes the
 * job over, says so on the job's stream, finishes it into one branch and one pull request, and nothing of the
 * dead attempt stays on the machine. And short locks do not take over a job whose worker is merely busy.
 * Real processes: the API, workers, the claude CLI in bwrap sandboxes, the fake GitHub and the fake model.
 */
jest.setTimeout(180_000);

const GITHUB_TOKEN = 'ghp_takeoverSecretToken0123456789abcdefAB';
const API_KEY = 'sk-ant-takeover-model-key';

describe('worker takeover', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  const workers: AppProcess[] = [];
  let sandboxRoot: string;
  let baseUrl: string;
  let client: TinyBackspaceClient;
  let startWorker: (env?: Record<string, string>) => AppProcess;

  beforeAll(async () => {
    fixture = new RedisFixture('takeover');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: API_KEY });
    await github.createRepo('acme', 'app', { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-takeover-sandboxes-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '1000', JOB_BACKOFF_MS: '200' });
    startWorker = (env = {}) => {
      const worker = startApp('worker', {
        ...shared,
        GITHUB_TOKEN,
        GITHUB_API_URL: github.apiUrl,
        GITHUB_THROTTLE: 'false',
        GITHUB_RETRIES: '0',
        ANTHROPIC_API_KEY: API_KEY,
        ANTHROPIC_BASE_URL: model.url,
        WORKER_CONCURRENCY: '1',
        WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
        SANDBOX_ROOT: sandboxRoot,
        AGENT_TIMEOUT_MS: '60000',
        ...env,
      });
      workers.push(worker);
      return worker;
    };
    await waitForHttp(`${baseUrl}/ready`);
    client = new TinyBackspaceClient({ baseUrl });
  });

  afterAll(async () => {
    // Every process goes, whatever the test did: SIGTERM, then SIGKILL after 10 s.
    await Promise.all([api, ...workers].map((app) => app?.stop('SIGTERM', 10_000)));
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  const stopAllWorkers = async () => {
    await Promise.all(workers.map((w) => w.stop('SIGTERM', 10_000)));
    workers.length = 0;
  };

  const submit = async (prompt: string) => {
    const res = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt }),
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  };

  it('keeps a job whose agent runs for many short lock durations on its worker: never stalled, one attempt', async () => {
    // 2 s locks, checked every 0.5 s; the agent's tool call alone takes 10 s (five lock durations).
    const short = { WORKER_LOCK_DURATION_MS: '2000', WORKER_STALLED_INTERVAL_MS: '500' };
    const pair = [startWorker(short), startWorker(short)];
    await Promise.all(pair.map((w) => w.waitForOutput('worker started', 60_000)));
    const jobId = await submit('[scenario:nap] Take a nap, then add a hello file');
    const events: JobEvent[] = [];
    for await (const { event } of client.events(jobId)) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.at(-1)).toBe('job.succeeded');
    expect(types.filter((t) => t === 'job.started')).toHaveLength(1);
    expect(types).not.toContain('job.recovered');
    const agentStep = events.find((e) => e.type === 'step.completed' && e.step === 'run_agent');
    expect(agentStep).toMatchObject({ durationMs: expect.any(Number) });
    expect((agentStep as { durationMs: number }).durationMs).toBeGreaterThan(3 * 2000);
    expect(await client.status(jobId)).toMatchObject({ state: 'succeeded', attempt: 1 });
    // BullMQ's view agrees: started once, never stalled.
    const job = await fixture.connect().hgetall(`${fixture.prefix}:${await queueNameOf(jobId)}:${jobId}`);
    expect(job['ats']).toBe('1');
    expect(job['stc'] ?? '0').toBe('0');
    await stopAllWorkers();
  });

  it('takes over a job whose worker was SIGKILLed mid-agent within 10 s, says so, and leaves nothing of the dead attempt', async () => {
    const pair = [startWorker(), startWorker()];
    await Promise.all(pair.map((w) => w.waitForOutput('worker started', 60_000)));
    const pullsBefore = github.pulls('acme', 'app').length;
    const branchesBefore = branches();
    const jobId = await submit('[scenario:nap] Nap, get killed, and still add a hello file');

    const events: JobEvent[] = [];
    let killedAt: number | undefined;
    let takeoverMs: number | undefined;
    let deadDir: string | undefined;
    let deadSleeps: string[] = [];
    let victim: AppProcess | undefined;
    for await (const { event } of client.events(jobId)) {
      events.push(event);
      if (event.type === 'agent.tool_call' && killedAt === undefined) {
        const started = events.find((e): e is Extract<JobEvent, { type: 'job.started' }> => e.type === 'job.started')!;
        victim = workers.find((w) => started.workerId.endsWith(`:${w.child.pid}`))!;
        // The dead attempt's leftovers, seen from the host: its sandbox directory and its agent's `sleep 10`.
        const dirs = await readdir(sandboxRoot);
        expect(dirs).toHaveLength(1);
        deadDir = join(sandboxRoot, dirs[0]!);
        await waitFor(() => pidsRunning('sleep 10').length > 0, 10_000, 'the agent\'s sleep started');
        deadSleeps = pidsRunning('sleep 10');
        victim.child.kill('SIGKILL');
        killedAt = Date.now();
      }
      if (event.type === 'job.started' && killedAt !== undefined && takeoverMs === undefined) {
        takeoverMs = Date.now() - killedAt;
        console.log(`takeover: job.started of the new attempt seen ${takeoverMs} ms after SIGKILL`);
      }
    }
    expect(killedAt).toBeDefined();

    // Takeover within 10 s, announced before the new attempt's start, by the other worker.
    expect(takeoverMs).toBeLessThan(10_000);
    const starts = events.flatMap((e) => (e.type === 'job.started' ? [e] : []));
    expect(starts).toHaveLength(2);
    expect(starts[0]!.workerId).toBe(`${starts[0]!.workerId.split(':')[0]}:${victim!.child.pid}`);
    expect(starts[1]!.workerId).not.toBe(starts[0]!.workerId);
    expect(starts.map((s) => s.attempt)).toEqual([1, 2]);
    const recoveredAt = events.findIndex((e) => e.type === 'job.recovered');
    expect(events[recoveredAt]).toMatchObject({ type: 'job.recovered', attempt: 1, previousWorkerId: starts[0]!.workerId, reason: 'worker_lost' });
    expect(events[recoveredAt + 1]).toMatchObject({ type: 'job.started', attempt: 2 });
    expect(events.filter((e) => e.type === 'job.retrying')).toEqual([]);

    // The job ends once: one branch, one pull request.
    const last = events.at(-1)!;
    expect(last).toMatchObject({ type: 'job.succeeded', result: { outcome: 'pr_opened' } });
    const pulls = github.pulls('acme', 'app');
    expect(pulls).toHaveLength(pullsBefore + 1);
    expect(pulls.filter((p) => p.head.ref === `tinyb/${jobId}`)).toHaveLength(1);
    expect(branches().filter((b) => !branchesBefore.includes(b))).toEqual([`tinyb/${jobId}`]);
    expect(await client.status(jobId)).toMatchObject({ state: 'succeeded', attempt: 2, error: null });

    // Nothing of the dead attempt: its agent's processes went with it (well before `sleep 10` would have
    // ended by itself), and its directory is gone within 60 s of the kill.
    await waitFor(() => deadSleeps.every((pid) => !isRunning(pid)), 5_000, `dead attempt's sleep still running: ${deadSleeps.join(', ')}`);
    await waitFor(() => !existsSync(deadDir!), 60_000 - (Date.now() - killedAt!), `${deadDir} still exists`);
    expect(await readdir(sandboxRoot)).toEqual([]);
  });

  const branches = () =>
    execFileSync('git', ['--git-dir', github.repoDir('acme', 'app'), 'for-each-ref', '--format=%(refname:short)', 'refs/heads/'])
      .toString()
      .split('\n')
      .filter(Boolean);

  /** The BullMQ queue holding the job: per-agent queues or the legacy one, whichever this build uses. */
  async function queueNameOf(jobId: string): Promise<string> {
    const redis = fixture.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${fixture.prefix}:*:${jobId}`, 'COUNT', 1000);
      cursor = next;
      const hash = keys.find((k) => k.split(':').length === fixture.prefix.split(':').length + 2);
      if (hash) return hash.split(':').at(-2)!;
    } while (cursor !== '0');
    throw new Error(`no BullMQ job ${jobId}`);
  }
});

/** Pids of live processes whose command line is exactly `command`, read from /proc. */
function pidsRunning(command: string): string[] {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && isRunning(pid) && cmdline(pid) === command);
}

function cmdline(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

function isRunning(pid: string): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); // a zombie is dead, only not yet reaped
  } catch {
    return false;
  }
}

async function waitFor(predicate: () => boolean, timeoutMs: number, explain: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${explain}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
