import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TinyBackspaceClient } from '@tinyb/client';
import type { JobEvent } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { percentile, round } from './percentiles.js';

export interface JobsBenchOptions {
  redisUrl: string;
  redisPrefix: string;
  /** Generated repository: this many files of `fileBytes` each (random, so git cannot compress it away). */
  files: number;
  fileBytes: number;
  pipelineTrials: number;
  /** Set to skip a section (0 trials). */
  takeoverTrials: number;
  /** Per job; a job past it is recorded as a note, not waited for. */
  jobTimeoutMs: number;
  log: (line: string) => void;
}

const GITHUB_TOKEN = `ghp_bench${randomBytes(16).toString('hex')}`;
const MODEL_KEY = `sk-ant-bench-${randomBytes(8).toString('hex')}`;

/**
 * The `pipeline` and `takeover` sections: real API and worker processes (the claude CLI in bwrap sandboxes),
 * the testkit's fake GitHub (real git over smart HTTP) and fake model, all on loopback.
 * - `pipeline`: jobs on a generated repository of realistic size, one at a time: POST → `run_agent` started,
 *   each step's duration (from the job's own `step.completed` events), commit → PR. The agent does the least
 *   a job can (the fake model's one-file edit), so what is measured is the pipeline around it.
 * - `takeover`: two workers; the one running a job is SIGKILLed once its agent is busy; the figure is SIGKILL →
 *   the next attempt's `job.started`, as users see it on the stream. A fresh worker replaces the dead one.
 */
export async function benchJobs(opts: JobsBenchOptions) {
  const github = await startFakeGitHub({ token: GITHUB_TOKEN });
  const model = await startFakeAnthropic({ apiKey: MODEL_KEY });
  const sandboxRoot = await mkdtemp(join(tmpdir(), 'tinyb-bench-sandboxes-'));
  const processes: AppProcess[] = [];
  try {
    opts.log(`jobs: generating ${opts.files} files of ${opts.fileBytes} bytes`);
    const files: Record<string, string> = {};
    for (let i = 0; i < opts.files; i++) {
      files[`src/dir${String(i % 50).padStart(2, '0')}/file${String(i).padStart(4, '0')}.txt`] = randomBytes(Math.ceil((opts.fileBytes * 3) / 4)).toString('base64').slice(0, opts.fileBytes);
    }
    files['README.md'] = '# Bench\n\nA generated repository.\n';
    const generatedStart = performance.now();
    await github.createRepo('bench', 'big', { files });
    opts.log(`jobs: repository created in ${Math.round(performance.now() - generatedStart)} ms`);
    const bytes = Object.values(files).reduce((acc, text) => acc + Buffer.byteLength(text), 0);

    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: opts.redisUrl, REDIS_PREFIX: `${opts.redisPrefix}:jobs`, GITHUB_URL: github.url, LOG_LEVEL: 'warn' };
    const api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '1000' });
    processes.push(api);
    const startWorker = () => {
      const worker = startApp('worker', {
        ...shared,
        LOG_LEVEL: 'info',
        GITHUB_TOKEN,
        GITHUB_API_URL: github.apiUrl,
        GITHUB_THROTTLE: 'false',
        GITHUB_RETRIES: '0',
        ANTHROPIC_API_KEY: MODEL_KEY,
        ANTHROPIC_BASE_URL: model.url,
        WORKER_CONCURRENCY: '1',
        WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
        SANDBOX_ROOT: sandboxRoot,
        AGENT_TIMEOUT_MS: '60000',
      });
      processes.push(worker);
      return worker;
    };
    await waitForHttp(`${baseUrl}/ready`);
    const client = new TinyBackspaceClient({ baseUrl });
    const submit = async (prompt: string) => {
      const postedAt = Date.now();
      const { id } = await client.submit({ repo_url: `${github.url}/bench/big`, prompt });
      return { id, postedAt };
    };
    /** The job's events until its terminal one, or until the bound. */
    const follow = async (jobId: string, onEvent: (event: JobEvent) => void = () => undefined) => {
      const events: JobEvent[] = [];
      const signal = AbortSignal.timeout(opts.jobTimeoutMs);
      try {
        for await (const { event } of client.events(jobId, { signal })) {
          events.push(event);
          onEvent(event);
        }
      } catch (err) {
        if (!signal.aborted) throw err;
      }
      return events;
    };

    const first = startWorker();
    await first.waitForOutput('worker started', 60_000);

    // --- pipeline --- (skipped with 0 trials)
    const postToAgent: number[] = [];
    const commitToPr: number[] = [];
    const steps = new Map<string, number[]>();
    const pipelineNotes: string[] = [];
    for (let trial = 0; trial < opts.pipelineTrials; trial++) {
      opts.log(`jobs: pipeline trial ${trial + 1}/${opts.pipelineTrials}`);
      const { id, postedAt } = await submit('Add a hello file');
      const events = await follow(id);
      const last = events.at(-1);
      if (last?.type !== 'job.succeeded') {
        pipelineNotes.push(`trial ${trial + 1}: ended ${last?.type ?? 'without events'}${last?.type === 'job.failed' ? ` (${last.error.code}: ${last.error.message})` : ''}`);
        continue;
      }
      const at = (pick: (e: JobEvent) => boolean) => {
        const found = events.find(pick);
        return found === undefined ? Number.NaN : Date.parse(found.at);
      };
      postToAgent.push(at((e) => e.type === 'step.started' && e.step === 'run_agent') - postedAt);
      commitToPr.push(at((e) => e.type === 'step.completed' && e.step === 'open_pr') - at((e) => e.type === 'step.started' && e.step === 'commit'));
      // Queue wait: POST → the worker's job.started.
      push(steps, 'queue_wait', at((e) => e.type === 'job.started') - postedAt);
      for (const e of events) if (e.type === 'step.completed') push(steps, e.step, e.durationMs);
    }
    const pipeline = opts.pipelineTrials === 0 ? undefined : {
      files: opts.files + 1,
      bytes,
      trials: opts.pipelineTrials,
      succeeded: postToAgent.length,
      postToAgentMs: spread(postToAgent),
      // The first job downloads the repository; the others find its commit in the worker's checkout cache.
      firstJobPostToAgentMs: postToAgent[0] ?? null,
      laterJobsPostToAgentMs: spread(postToAgent.slice(1)),
      commitToPrMs: spread(commitToPr),
      stepsMs: Object.fromEntries([...steps].map(([step, values]) => [step, spread(values)])),
      notes: pipelineNotes,
      agent: 'claude CLI (real) against the fake model, scenario write: one small file; local bwrap sandbox',
    };

    // --- takeover ---
    if (opts.takeoverTrials === 0) return { pipeline, takeover: undefined };
    const second = startWorker();
    await second.waitForOutput('worker started', 60_000);
    const takeovers: number[] = [];
    const takeoverNotes: string[] = [];
    for (let trial = 0; trial < opts.takeoverTrials; trial++) {
      opts.log(`jobs: takeover trial ${trial + 1}/${opts.takeoverTrials}`);
      const { id } = await submit('[scenario:nap] Nap, get killed, and still add a hello file');
      let killedAt: number | undefined;
      let takenOverAt: number | undefined;
      let victim: AppProcess | undefined;
      const seen: JobEvent[] = [];
      const events = await follow(id, (event) => {
        seen.push(event);
        if (event.type === 'agent.tool_call' && killedAt === undefined) {
          const started = seen.find((e): e is Extract<JobEvent, { type: 'job.started' }> => e.type === 'job.started');
          victim = processes.find((p) => p.name === 'worker' && p.child.exitCode === null && started?.workerId.endsWith(`:${p.child.pid}`));
          if (victim !== undefined) {
            victim.child.kill('SIGKILL');
            killedAt = Date.now();
          }
        }
        if (event.type === 'job.started' && killedAt !== undefined && takenOverAt === undefined) takenOverAt = Date.now();
      });
      if (killedAt !== undefined && takenOverAt !== undefined) takeovers.push((takenOverAt - killedAt) / 1000);
      else takeoverNotes.push(`trial ${trial + 1}: ${killedAt === undefined ? 'no worker was killed' : 'no takeover seen'} (last event ${events.at(-1)?.type ?? 'none'})`);
      if (victim !== undefined) {
        const replacement = startWorker();
        await replacement.waitForOutput('worker started', 60_000);
      }
      await sleep(200);
    }
    const sortedTakeovers = [...takeovers].sort((a, b) => a - b);
    const takeover = {
      trials: opts.takeoverTrials,
      measured: takeovers.length,
      p50S: round(percentile(sortedTakeovers, 50), 2),
      p99S: round(percentile(sortedTakeovers, 99), 2),
      maxS: round(sortedTakeovers.at(-1) ?? Number.NaN, 2),
      samplesS: takeovers.map((s) => round(s, 2)),
      settings: 'worker defaults: WORKER_LOCK_DURATION_MS 8000, WORKER_STALLED_INTERVAL_MS 1000; measured SIGKILL → next job.started on the stream',
      notes: takeoverNotes,
    };
    return { pipeline, takeover };
  } finally {
    await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000).catch(() => undefined)));
    await Promise.all([github.close(), model.close()]);
    await rm(sandboxRoot, { recursive: true, force: true });
  }
}

function push(map: Map<string, number[]>, key: string, value: number): void {
  if (!Number.isFinite(value)) return;
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

function spread(values: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return { p50: round(percentile(sorted, 50), 1), p99: round(percentile(sorted, 99), 1), max: round(sorted.at(-1) ?? Number.NaN, 1) };
}
