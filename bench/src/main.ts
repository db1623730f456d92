import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { DEFAULT_REDIS_URL, redisConnectionOptions } from '@tinyb/queue';
import { startApi, type ApiProcess } from './api-process.js';
import { benchEnqueue } from './bench-enqueue.js';
import { benchEvents } from './bench-events.js';
import { benchFanout, defaultApiProcesses } from './bench-fanout-section.js';
import { FANOUT_SYSTEM_NAMES, type FanoutSystemName } from './fanout-systems.js';
import { CpuMeter } from './cpu-meter.js';
import { deleteKeysUnder } from './delete-keys.js';
import { benchJobs } from './bench-jobs.js';
import { writeResults } from './results-writer.js';

const SECTIONS = ['enqueue', 'events', 'fanout', 'pipeline', 'takeover'] as const;
type Section = (typeof SECTIONS)[number];
/** `pnpm bench --only fanout` (or `--only enqueue,events`) runs only those sections; default: all. */
function selectedSections(argv: readonly string[]): ReadonlySet<Section> {
  const at = argv.indexOf('--only');
  if (at < 0) return new Set(SECTIONS);
  const names = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--only takes a list of ${SECTIONS.join(', ')}`);
  return new Set(names as Section[]);
}
const sections = selectedSections(process.argv.slice(2));

/** BENCH_FANOUT_SYSTEMS, checked before anything runs: default all three. */
function fanoutSystems(value: string | undefined): FanoutSystemName[] {
  if (value === undefined) return [...FANOUT_SYSTEM_NAMES];
  const names = value.split(',').filter(Boolean);
  const known = (name: string): name is FanoutSystemName => (FANOUT_SYSTEM_NAMES as readonly string[]).includes(name);
  if (names.length === 0 || !names.every(known)) throw new Error(`BENCH_FANOUT_SYSTEMS takes a list of ${FANOUT_SYSTEM_NAMES.join(', ')}`);
  return names;
}

/**
 * `pnpm bench`: measures the API against raw BullMQ / Redis Streams baselines in one run, on one Redis,
 * and prints one JSON document to stdout (progress to stderr). A benchmark, not a test: it fails only
 * when it cannot run.
 */
const config = {
  redisUrl: process.env['REDIS_URL'] ?? DEFAULT_REDIS_URL,
  enqueue: { requests: 20000, concurrency: 50, rounds: 4, warmup: 3000, pacedPerSec: 1000, pacedSeconds: 5 },
  events: [
    // One busy job watched by 100 browsers: 100 events/s published, 10k deliveries/s.
    { jobs: 1, clientsPerJob: 100, events: 200, intervalMs: 10 },
    // 100 running jobs, one watcher each, each job 10 events/s: 1k publishes and deliveries/s.
    { jobs: 100, clientsPerJob: 1, events: 20, intervalMs: 100 },
  ],
  waitTimeoutMs: 15_000,
  fanout: {
    // BENCH_FANOUT_CLIENTS=1000,5000 for a shorter run; 10k needs `ulimit -n` above 10k (the bench script raises it).
    clientCounts: (process.env['BENCH_FANOUT_CLIENTS'] ?? '1000,5000,10000').split(',').map(Number).filter((n) => n > 0),
    manyJobs: 1000,
    // API_PROCESSES of the API under test; default the number of cores, as in production.
    apiProcesses: Number(process.env['BENCH_API_PROCESSES'] ?? defaultApiProcesses()),
    // BENCH_FANOUT_SYSTEMS=tiny-backspace runs ours alone (say, with BENCH_API_PROCESSES=1: one process, 10k streams).
    systems: fanoutSystems(process.env['BENCH_FANOUT_SYSTEMS']),
  },
  // A generated repository of realistic size through the whole pipeline, then SIGKILLed workers (real API, workers,
  // claude CLI, fake GitHub and model). BENCH_REPO_FILES / BENCH_FILE_BYTES / BENCH_JOB_TRIALS shrink it.
  jobs: {
    files: Number(process.env['BENCH_REPO_FILES'] ?? 1000),
    fileBytes: Number(process.env['BENCH_FILE_BYTES'] ?? 50_000),
    trials: Number(process.env['BENCH_JOB_TRIALS'] ?? 5),
    jobTimeoutMs: 120_000,
  },
  /** Where `latest.json`, `latest.md` and the chart go. */
  resultsDir: fileURLToPath(new URL('../results/', import.meta.url)),
  /** Past this the run is abandoned (cleaned up, exit code 2). */
  hardLimitMs:
    (sections.has('enqueue') || sections.has('events') ? 150_000 : 0) +
    (sections.has('fanout') ? 900_000 : 0) +
    (sections.has('pipeline') || sections.has('takeover') ? 600_000 : 0),
};

const redisPrefix = `tinyb-bench-${Date.now()}-${randomBytes(3).toString('hex')}`;
const redis = new Redis(redisConnectionOptions(config.redisUrl));
let api: ApiProcess | undefined;

let cleaning: Promise<number | undefined> | undefined;
/**
 * Ends the run's writers (the bench's connection, then the API), then deletes every key under the run's
 * prefix on a fresh connection, so nothing still in flight can write a key after the sweep. Runs once,
 * however many paths (normal end, failure, signal, time limit) call it.
 */
function cleanup(): Promise<number | undefined> {
  cleaning ??= (async () => {
    await redis.quit().catch(() => redis.disconnect());
    await api?.stop().catch((err: unknown) => process.stderr.write(`bench: stopping the API: ${String(err)}\n`));
    const sweeper = new Redis(redisConnectionOptions(config.redisUrl));
    try {
      return await deleteKeysUnder(sweeper, redisPrefix);
    } catch (err) {
      process.stderr.write(`bench: deleting ${redisPrefix}:* failed: ${String(err)}\n`);
      return undefined;
    } finally {
      await sweeper.quit().catch(() => sweeper.disconnect());
    }
  })();
  return cleaning;
}

const abandon = (why: string, code: number) => {
  process.stderr.write(`bench: ${why}, cleaning up\n`);
  void cleanup().finally(() => process.exit(code));
};
const hardLimit = setTimeout(() => abandon(`over ${config.hardLimitMs} ms`, 2), config.hardLimitMs).unref();
process.once('SIGINT', () => abandon('interrupted', 130));
process.once('SIGTERM', () => abandon('terminated', 143));

let report: Record<string, unknown> | undefined;
try {
  const startedAt = new Date();
  const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
  // No worker runs (the bench publishes events as one would): the API accepts jobs for its known agents anyway.
  let rssAtStart: number | undefined;
  let enqueue: unknown;
  let events: unknown[] | undefined;
  if (sections.has('enqueue') || sections.has('events')) {
    process.stderr.write(`bench: starting the API (prefix ${redisPrefix})\n`);
    // BENCH_ENQUEUE_API_PROCESSES=n runs the API under test as n processes on one port (API_PROCESSES); default one.
    const enqueueProcesses = Number(process.env['BENCH_ENQUEUE_API_PROCESSES'] ?? 0);
    const started = await startApi({ redisUrl: config.redisUrl, redisPrefix, ...(enqueueProcesses > 0 ? { processes: enqueueProcesses } : {}) });
    api = started;
    process.stderr.write(`bench: API pid ${started.pid} at ${started.baseUrl}\n`);
    rssAtStart = started.rssMb();
    const cpu = new CpuMeter(redis, started.pid);
    if (sections.has('enqueue')) enqueue = await benchEnqueue({ baseUrl: started.baseUrl, redis, redisPrefix, cpu, ...config.enqueue });
    if (sections.has('events')) {
      events = [];
      for (const scenario of config.events) {
        events.push(await benchEvents({ api: started, redis, redisPrefix, cpu, waitTimeoutMs: config.waitTimeoutMs, ...scenario }));
      }
    }
    await started.stop();
  }
  const fanout = sections.has('fanout')
    ? await benchFanout({ redisUrl: config.redisUrl, redis, redisPrefix, ...config.fanout, log: (line) => process.stderr.write(`bench: ${line}\n`) })
    : undefined;
  const jobs =
    sections.has('pipeline') || sections.has('takeover')
      ? await benchJobs({
          redisUrl: config.redisUrl,
          redisPrefix,
          files: config.jobs.files,
          fileBytes: config.jobs.fileBytes,
          pipelineTrials: sections.has('pipeline') ? config.jobs.trials : 0,
          takeoverTrials: sections.has('takeover') ? config.jobs.trials : 0,
          jobTimeoutMs: config.jobs.jobTimeoutMs,
          log: (line) => process.stderr.write(`bench: ${line}\n`),
        })
      : undefined;

  report = {
    meta: {
      startedAt: startedAt.toISOString(),
      durationSec: Math.round((Date.now() - startedAt.getTime()) / 100) / 10,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      redis: redisVersion,
      api: 'apps/api/src/main.ts in a child process (node --import tsx), NODE_ENV=production, LOG_LEVEL=warn',
      apiRssMbAtStart: rssAtStart,
      note: 'API, Redis and this load generator share the machine; compare each figure with its baseline from the same run. cpu: % of one core.',
    },
    ...(enqueue === undefined ? {} : { enqueue }),
    ...(events === undefined ? {} : { events }),
    ...(fanout === undefined
      ? {}
      : {
          fanout: fanout.rows,
          fanoutMeta: {
            apiProcesses: fanout.apiProcesses,
            notes: fanout.notes,
            shapes: 'one job: 30 events at 10/s; many jobs: 10 events per job at 2/s; each after one unmeasured warm-up round. Latency: publish call -> stamp parsed by a raw-socket client in the bench process.',
            controlRoutes: 'each probe every 250 ms from a worker thread while the events go out, on a fresh connection: health (GET /health) on every system; ours also GET /ready, GET /api/jobs/:id and POST /api/jobs',
            idleCpu: 'idleCpuPct on the largest one-job row: CPU of the server process tree over 120 s (four heartbeat rounds), from 60 s after the last delivery, with every stream open and nothing published, % of one core; idleCpuSlicesPct: the same in 15 s slices',
          },
        }),
    ...(jobs?.pipeline === undefined ? {} : { pipeline: jobs.pipeline }),
    ...(jobs?.takeover === undefined ? {} : { takeover: jobs.takeover }),
  };
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
} finally {
  const keysDeleted = await cleanup();
  clearTimeout(hardLimit);
  if (report) {
    report['cleanup'] = { redisPrefix, keysDeleted };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    await writeResults(report, config.resultsDir).then(
      (files) => process.stderr.write(`bench: wrote ${files.join(', ')}\n`),
      (err: unknown) => process.stderr.write(`bench: writing the results failed: ${String(err)}\n`),
    );
  }
}
