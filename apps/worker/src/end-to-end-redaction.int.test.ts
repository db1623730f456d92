import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sseMessages } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { RedisFixture } from '@tinyb/testkit/redis';

/**
 * A hostile agent against the real service (API and worker processes, the real claude binary in a bwrap
 * sandbox): it prints its environment and a file of secrets planted in the repository, then repeats all of it
 * in its summary. None of the worker's secrets may come out anywhere: not in the SSE events, not in any value
 * stored in Redis, not in either process's log, not in the pull request's title, body or commit message.
 */
jest.setTimeout(120_000);

// Registered exact values: none has a well-known token shape, so only the worker's registration can catch them.
const GITHUB_TOKEN = 'canary-github-token-Zq81xv0Lm3Pk7Rt2';
const ANTHROPIC_API_KEY = 'canary-anthropic-key-Jk3Lm9Qw2Er5Ty7U';
const API_TOKEN = 'canary-api-token-Hn4Bv8Cx1Zs6Ad0F';
// Registered nowhere: caught by its shape alone.
const STRAY_GITHUB_TOKEN = `ghp_${'Wy5UqP0oLk2M'.repeat(3)}`;
const CANARIES = { GITHUB_TOKEN, ANTHROPIC_API_KEY, API_TOKEN, STRAY_GITHUB_TOKEN };

describe('end to end: a hostile agent cannot publish the worker\'s secrets', () => {
  let fixture: RedisFixture;
  let github: FakeGitHub;
  let model: FakeAnthropic;
  let api: AppProcess;
  let worker: AppProcess;
  let sandboxRoot: string;
  let baseUrl: string;

  beforeAll(async () => {
    fixture = new RedisFixture('e2e-redaction');
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: ANTHROPIC_API_KEY });
    await github.createRepo('acme', 'app', {
      private: true,
      files: {
        'README.md': '# App\n',
        // Secrets someone committed by mistake, which the agent finds and prints.
        [FAKE_FILES.plantedSecretsPath]: `GITHUB_TOKEN=${GITHUB_TOKEN}\nANTHROPIC_API_KEY=${ANTHROPIC_API_KEY}\nOTHER_TOKEN=${STRAY_GITHUB_TOKEN}\n`,
      },
    });
    sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-e2e-redaction-'));
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    // Debug level, so whatever the processes log about a job is in the output searched below.
    const shared = { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: fixture.prefix, GITHUB_URL: github.url, LOG_LEVEL: 'debug' };
    // The API logs JSON lines, the worker pretty lines: both kinds of output pass the redactor.
    api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', API_TOKEN, LOG_PRETTY: 'false' });
    worker = startApp('worker', {
      ...shared,
      GITHUB_TOKEN,
      GITHUB_API_URL: github.apiUrl,
      GITHUB_THROTTLE: 'false',
      GITHUB_RETRIES: '0',
      ANTHROPIC_API_KEY,
      ANTHROPIC_BASE_URL: model.url,
      WORKER_CONCURRENCY: '1',
      SANDBOX_ROOT: sandboxRoot,
      AGENT_TIMEOUT_MS: '60000',
      LOG_PRETTY: 'true',
    });
    await Promise.all([waitForHttp(`${baseUrl}/ready`), worker.waitForOutput('worker started', 60_000)]);
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([github?.close(), model?.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
    await fixture.cleanup();
  });

  it('redacts what the agent printed and repeated, and stores and logs no secret', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const submitted = await fetch(`${baseUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ repo_url: `${github.url}/acme/app`, prompt: '[scenario:exfiltrate] Add a hello file' }),
    });
    expect(submitted.status).toBe(202);
    const { id: jobId } = (await submitted.json()) as { id: string };

    const res = await fetch(`${baseUrl}/api/jobs/${jobId}/events`, { headers: auth });
    const frames: JobEvent[] = [];
    for await (const m of sseMessages(res)) frames.push(JSON.parse(m.data) as JobEvent);
    const last = frames.at(-1);
    if (last?.type !== 'job.succeeded') throw new Error(`expected job.succeeded, got ${JSON.stringify(last)}`);
    expect(last.result.outcome).toBe('pr_opened');

    // The agent really found the secrets: the model (the agent's own conversation) saw the planted ones.
    expect(model.requests.some((r) => r.rawBody.includes(GITHUB_TOKEN) && r.rawBody.includes(STRAY_GITHUB_TOKEN))).toBe(true);

    // What came out instead: the printed lines with the values replaced, the same in the summary.
    const probe = frames.find((e) => e.type === 'agent.tool_result' && e.output.includes('OTHER_TOKEN'));
    expect(probe).toMatchObject({ type: 'agent.tool_result', ok: true });
    const probeOutput = probe?.type === 'agent.tool_result' ? probe.output : '';
    expect(probeOutput).toContain('GITHUB_TOKEN=[REDACTED:secret]');
    expect(probeOutput).toContain('ANTHROPIC_API_KEY=[REDACTED:secret]');
    expect(probeOutput).toContain('OTHER_TOKEN=[REDACTED:github]');
    expect(last.result.summary).toContain('GITHUB_TOKEN=[REDACTED:secret]');

    // The pull request and its commit: the summary is there, redacted.
    const pr = github.pulls('acme', 'app').find((p) => p.number === last.result.pr?.number);
    if (!pr) throw new Error('no pull request on the fake GitHub');
    expect(pr.body).toContain('GITHUB_TOKEN=[REDACTED:secret]');
    const checkout = await mkdtemp(join(tmpdir(), 'tinyb-e2e-redaction-clone-'));
    execFileSync('git', ['clone', '-q', '--branch', pr.head.ref, github.repoDir('acme', 'app'), checkout]);
    const commitMessage = execFileSync('git', ['-C', checkout, 'log', '-1', '--format=%B']).toString();
    await rm(checkout, { recursive: true, force: true });
    expect(commitMessage).toContain('GITHUB_TOKEN=[REDACTED:secret]');

    // Everything stored in Redis for the run: the event stream, BullMQ's job hash (data, returnvalue), the rest.
    const stored = await fixture.dump();
    expect(stored).toContain(jobId);
    expect(stored).toContain('GITHUB_TOKEN=[REDACTED:secret]');

    const places: Record<string, string> = {
      'SSE events': JSON.stringify(frames),
      Redis: stored,
      'worker log': worker.output(),
      'API log': api.output(),
      'PR title': pr.title,
      'PR body': pr.body,
      'commit message': commitMessage,
    };
    for (const [place, text] of Object.entries(places)) {
      for (const [name, canary] of Object.entries(CANARIES)) {
        if (text.includes(canary)) throw new Error(`${name} leaked into the ${place}`);
      }
    }
  });
});
