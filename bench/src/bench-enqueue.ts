import { randomUUID } from 'node:crypto';
import { startBareHttpServer } from './bare-http-server.js';
import { RawHttpClient } from './raw-http-client.js';
import type { Redis } from 'ioredis';
import { parseRepoUrl, type CodeJobData } from '@tinyb/contracts';
import { RedisJobEvents } from '@tinyb/events';
import { CODE_JOB_NAME, CodeJobQueue } from '@tinyb/queue';
import { cpuShare, type CpuMeter, type CpuShare, type CpuTime } from './cpu-meter.js';
import { RedisCommandProfiler } from './redis-command-profile.js';
import { ratio, round, summarize } from './percentiles.js';

export interface EnqueueBenchOptions {
  baseUrl: string;
  /** The bench's own connection, for the in-process rows (one shared connection, as the API has). */
  redis: Redis;
  redisPrefix: string;
  /** Measured requests per row, split evenly over `rounds`. */
  requests: number;
  concurrency: number;
  rounds: number;
  /** Calls per row run and discarded before the measured rounds, so the JIT, pools and connections are warm. */
  warmup: number;
  /** `POST /api/jobs` open-loop at this rate (a request starts on schedule, whatever the earlier ones do), for this long. */
  pacedPerSec: number;
  pacedSeconds: number;
  cpu: CpuMeter;
}

export interface LoadFigures {
  jobsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
  ok: number;
  errors: number;
  cpu: CpuShare;
}

export const BENCH_REPO_URL = 'https://github.com/bench/repo';
const BODY = { repo_url: BENCH_REPO_URL, prompt: 'Add a short paragraph about benchmarks to the README.' };

/**
 * Enqueue cost, five rows at the same concurrency, each on its own key prefix (latency is per call, jobs/s is
 * calls completed over the time spent in that row):
 * - `baseline`: BullMQ `queue.add` of the job data the API would build (same queue options, via CodeJobQueue's Queue);
 * - `inProcess`: what the route does, without HTTP: `CodeJobQueue.enqueue` with `job.queued` in the same script;
 * - `api`: `POST /api/jobs` to the API process; `apiIdempotent`: the same with a fresh `Idempotency-Key` each;
 * - `bareHttp`: the same requests to node:http alone (bare-http-server.ts): what HTTP costs here before any work.
 */
export async function benchEnqueue(opts: EnqueueBenchOptions) {
  const jobData = (): CodeJobData => ({
    repo: parseRepoUrl(BENCH_REPO_URL, 'https://github.com'),
    prompt: BODY.prompt,
    agent: 'claude-code',
    draft: false,
    requestedAt: new Date().toISOString(),
  });

  const baselineQueue = new CodeJobQueue({ redis: opts.redis, prefix: `${opts.redisPrefix}:baseline` });
  const inProcessQueue = new CodeJobQueue({ redis: opts.redis, prefix: `${opts.redisPrefix}:inproc` });
  const inProcessEvents = new RedisJobEvents({ redis: opts.redis, keyPrefix: `${opts.redisPrefix}:inproc` });
  const url = new URL('/api/jobs', opts.baseUrl);
  // Paced requests may be more than `concurrency` in flight when the API falls behind: room for them too.
  const http = new RawHttpClient(url.hostname, Number(url.port), Math.max(opts.concurrency, 500));
  const body = JSON.stringify(BODY);
  const bare = await startBareHttpServer();
  const bareHttp = new RawHttpClient('127.0.0.1', bare.port, opts.concurrency);

  const rows = {
    baseline: async () => {
      await baselineQueue.queueFor('claude-code').add(CODE_JOB_NAME, jobData(), { jobId: randomUUID() });
    },
    inProcess: async () => {
      const data = jobData();
      // As the route does: job.queued recorded with the job, in the queue's one transaction.
      await inProcessQueue.enqueue(data, {
        announce: { via: inProcessEvents, event: { type: 'job.queued', repoUrl: data.repo.url, agent: data.agent, draft: data.draft } },
      });
    },
    api: () => postJob(http, body),
    apiIdempotent: () => postJob(http, body, `\r\nidempotency-key: ${randomUUID()}`),
    bareHttp: () => postJob(bareHttp, body),
  };
  type Row = keyof typeof rows;
  const names = Object.keys(rows) as Row[];

  try {
    process.stderr.write(`bench: enqueue warm-up, ${opts.warmup} per row\n`);
    for (const name of names) await runLoad(opts.warmup, opts.concurrency, rows[name]);
    // Rows take turns, a slice at a time, so drift (JIT, GC, Redis growing) spreads over all of them
    // instead of penalising whichever runs first.
    const runs = Object.fromEntries(names.map((n) => [n, [] as LoadRun[]])) as Record<Row, LoadRun[]>;
    // What Redis does for each row's jobs, command by command (server time, from INFO commandstats).
    const redisProfilers = Object.fromEntries(names.map((n) => [n, new RedisCommandProfiler(opts.redis)])) as Record<Row, RedisCommandProfiler>;
    for (let round = 0; round < opts.rounds; round++) {
      process.stderr.write(`bench: enqueue round ${round + 1}/${opts.rounds}\n`);
      for (const name of names) {
        const redisSpan = await redisProfilers[name].start();
        const cpuSpan = await opts.cpu.start();
        const run = await runLoad(Math.ceil(opts.requests / opts.rounds), opts.concurrency, rows[name]);
        runs[name].push({ ...run, cpu: await cpuSpan() });
        await redisSpan(run.latencies.length);
      }
    }
    const figures = Object.fromEntries(names.map((n) => [n, loadFigures(runs[n])])) as Record<Row, LoadFigures>;
    process.stderr.write(`bench: enqueue paced at ${opts.pacedPerSec} req/s for ${opts.pacedSeconds} s\n`);
    const paced = await runPaced(opts.pacedPerSec, opts.pacedSeconds * 1000, rows.api);
    const { baseline } = figures;
    const ratios = (f: LoadFigures) => ({
      jobsPerSec: ratio(f.jobsPerSec, baseline.jobsPerSec),
      p50: ratio(f.p50Ms, baseline.p50Ms),
      p99: ratio(f.p99Ms, baseline.p99Ms),
    });
    return {
      requestsPerRow: opts.requests,
      concurrency: opts.concurrency,
      rounds: opts.rounds,
      warmupPerRow: opts.warmup,
      httpClient: `raw-socket keep-alive HTTP/1.1 client (raw-http-client.ts), ${opts.concurrency} connections, in the bench process`,
      ...figures,
      ratiosToBaseline: {
        inProcess: ratios(figures.inProcess),
        api: ratios(figures.api),
        apiIdempotent: ratios(figures.apiIdempotent),
        bareHttp: ratios(figures.bareHttp),
      },
      paced,
      redisCommands: Object.fromEntries(names.filter((n) => n !== 'bareHttp').map((n) => [n, redisProfilers[n].profile().perJob])),
    };
  } finally {
    http.close();
    bareHttp.close();
    bare.stop();
    await inProcessEvents.close();
    await Promise.all([baselineQueue.close(), inProcessQueue.close()]);
  }
}

interface LoadRun {
  latencies: number[];
  durationMs: number;
  errors: number;
  cpu?: CpuTime;
}

function loadFigures(runs: readonly LoadRun[]): LoadFigures {
  const latencies = runs.flatMap((r) => r.latencies);
  const durationMs = runs.reduce((acc, r) => acc + r.durationMs, 0);
  const summary = summarize(latencies);
  return {
    jobsPerSec: round(latencies.length / (durationMs / 1000), 0),
    p50Ms: summary.p50,
    p99Ms: summary.p99,
    meanMs: summary.mean,
    maxMs: summary.max,
    ok: latencies.length,
    errors: runs.reduce((acc, r) => acc + r.errors, 0),
    cpu: cpuShare(runs.flatMap((r) => (r.cpu ? [r.cpu] : []))),
  };
}

/**
 * Open loop: starts `task` every 1/perSec s on schedule (late starts are counted from their scheduled time, so a
 * stall shows up as latency instead of hiding as a lower rate), for `durationMs`.
 */
async function runPaced(perSec: number, durationMs: number, task: () => Promise<void>) {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round((perSec * durationMs) / 1000);
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / perSec;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(task().then(() => void latencies.push(performance.now() - scheduled), () => void (errors += 1)));
  }
  await Promise.all(inFlight);
  const elapsedSec = (performance.now() - start) / 1000;
  return { targetPerSec: perSec, achievedPerSec: round(latencies.length / elapsedSec, 0), seconds: durationMs / 1000, latencyMs: summarize(latencies), errors };
}

/** Runs `task` `total` times with at most `concurrency` in flight; latency is measured per call. */
async function runLoad(total: number, concurrency: number, task: () => Promise<void>): Promise<LoadRun> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  let firstError: unknown;
  const lane = async () => {
    while (next < total) {
      next++;
      const start = performance.now();
      try {
        await task();
        latencies.push(performance.now() - start);
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  const durationMs = performance.now() - start;
  if (firstError !== undefined) process.stderr.write(`bench: ${errors} failed, first: ${String(firstError)}\n`);
  return { latencies, durationMs, errors };
}

const POST_JOB_HEAD = 'POST /api/jobs HTTP/1.1\r\ncontent-type: application/json';

async function postJob(http: RawHttpClient, body: string, moreHeaders = ''): Promise<void> {
  const status = await http.request(POST_JOB_HEAD + moreHeaders, body);
  if (status !== 202) throw new Error(`POST /api/jobs answered ${status}`);
}
