import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TinyBackspaceClient } from '@tinyb/client';
import type { JobEvent, JobState } from '@tinyb/contracts';
import { freePort, startApp, waitForHttp, type AppProcess } from '@tinyb/testkit/app-process';
import { FAKE_FILES, startFakeAnthropic, type FakeAnthropic } from '@tinyb/testkit/fake-anthropic';
import { startFakeGitHub, type FakeGitHub } from '@tinyb/testkit/fake-github';
import { startRedisServer, type RedisServer } from '@tinyb/testkit/redis-server';
import { percentile, round } from './percentiles.js';
import { LeftoverWatch, type Leftovers } from './soak-leftovers.js';
import { describeTrigger, planTrial, seededRandom, type Fault, type GitHubTarget, type PointChoice, type TrialPlan } from './soak-plan.js';

export interface SoakOptions {
  trials: number;
  /** Faults taken in turn; absent: one drawn at random per trial. */
  faults?: readonly Fault[];
  seed: number;
  /** Where faults may fall (default `any`). */
  points?: PointChoice;
  /** `[scenario:…]` of the fake model the jobs play (default `ticks`: ~8 s of agent turns and tool calls). */
  scenario?: string;
  /** A job without its terminal event past this is lost. */
  trialTimeoutMs: number;
  /** Past this no new trial starts; the run still settles and reports. */
  overallTimeoutMs: number;
  /** How long leftovers may take to go once the trials are over. */
  settleMs?: number;
  /** Aborted (Ctrl-C): no new trial starts, the running one stops following its job, and everything is cleaned up. */
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface TrialRecord {
  trial: number;
  jobId: string;
  fault: Fault;
  trigger: string;
  /** Whether the fault met the job: it was injected before the job ended, and (GitHub, stream cut) really served. */
  landed: boolean;
  detail: string;
  /** The job's terminal event, or `lost`. */
  outcome: 'succeeded' | 'failed' | 'cancelled' | 'lost';
  error?: string;
  attempts: number;
  /** `kill`/`term`: fault → the next attempt's `job.recovered`/`job.started` on the stream. */
  takeoverMs?: number;
  durationMs: number;
}

export interface SoakReport {
  startedAt: string;
  durationS: number;
  seed: number;
  trials: TrialRecord[];
  /** Trials the overall time limit left unrun. */
  skipped: number;
  counts: {
    lost: number;
    multiplePrs: number;
    multipleBranches: number;
    orphanSandboxDirs: number;
    orphanProcesses: number;
    stuck: number;
    /** One transient fault, retries on top: every job must still succeed. */
    failed: number;
  };
  takeover: { samples: number; p50S: number | null; p99S: number | null; maxS: number | null };
  handover: { samples: number; p50S: number | null; maxS: number | null };
  leftovers: Leftovers;
  stuckJobs: { jobId: string; state: string }[];
  duplicateJobs: { jobId: string; prs: number; branches: number }[];
  /** Whether every zero check holds. */
  ok: boolean;
}

const OWNER = 'acme';
const REPO = 'app';
const GITHUB_TOKEN = `ghp_soak${randomBytes(16).toString('hex')}`;
const MODEL_KEY = `sk-ant-soak-${randomBytes(8).toString('hex')}`;
const BRANCH_PREFIX = 'tinyb/';
const TERMINAL = new Set<JobState>(['succeeded', 'failed', 'cancelled']);
const GITHUB_PATTERNS: Record<GitHubTarget, RegExp> = {
  any: new RegExp(`^/repos/${OWNER}/${REPO}(/|$)`),
  'git-data': new RegExp(`^/repos/${OWNER}/${REPO}/git/`),
  pulls: new RegExp(`^/repos/${OWNER}/${REPO}/pulls`),
};

/** A worker slot: a replacement takes its place and its SANDBOX_ROOT, as a restarted container or unit would. */
interface Slot {
  index: number;
  sandboxRoot: string;
  tmpDir: string;
  worker?: AppProcess;
  /** Faulted: stopped or killed, to be replaced before the next trial. */
  retired: boolean;
}

/**
 * `pnpm soak`: jobs through the real API and two real workers (the claude CLI in bwrap sandboxes), against a
 * private AOF redis-server, the fake GitHub and the fake model, each with one fault injected at a random point:
 * the worker running it SIGKILLed or SIGTERMed (and replaced), Redis stopped and started again, a burst of GitHub
 * 5xx or 429, or the model's stream cut mid-reply. Then it checks what must never happen: a job without its end,
 * a job with two pull requests or branches, a sandbox or a sandbox process left behind, a job whose status is
 * not terminal; and reports the takeover times. Everything on loopback, everything removed at the end.
 */
export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const startedAt = new Date();
  const random = seededRandom(opts.seed);
  const scenario = opts.scenario ?? 'ticks';
  const soakDir = await mkdtemp(join(tmpdir(), 'tinyb-soak-'));
  const processes: AppProcess[] = [];
  const slots: Slot[] = [];
  let redis: RedisServer | undefined;
  let github: FakeGitHub | undefined;
  let model: FakeAnthropic | undefined;
  let watch: LeftoverWatch | undefined;
  const liveWorkers = () => slots.flatMap((s) => (s.worker !== undefined && s.worker.child.exitCode === null && s.worker.child.signalCode === null ? [s.worker] : []));
  try {
    redis = await startRedisServer();
    github = await startFakeGitHub({ token: GITHUB_TOKEN });
    model = await startFakeAnthropic({ apiKey: MODEL_KEY });
    await github.createRepo(OWNER, REPO, { files: { 'README.md': `# App\n\n${FAKE_FILES.readmeOldLine}\n` } });
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const shared = { REDIS_URL: redis.url, REDIS_PREFIX: 'tinyb-soak', GITHUB_URL: github.url, LOG_LEVEL: 'info' };
    // Retries come back within a second instead of the default 15 s, so a trial stays short.
    const api = startApp('api', { ...shared, PORT: String(port), HOST: '127.0.0.1', SSE_HEARTBEAT_MS: '1000', JOB_BACKOFF_MS: '1000' });
    processes.push(api);

    for (let index = 0; index < 2; index++) {
      const slot: Slot = { index, sandboxRoot: join(soakDir, `sandboxes-${index}`), tmpDir: join(soakDir, `tmp-${index}`), retired: true };
      await mkdir(slot.sandboxRoot);
      await mkdir(slot.tmpDir);
      slots.push(slot);
    }
    const fill = async () => {
      const started: AppProcess[] = [];
      for (const slot of slots) {
        if (!slot.retired && slot.worker !== undefined && liveWorkers().includes(slot.worker)) continue;
        const worker = startApp('worker', {
          ...shared,
          TMPDIR: slot.tmpDir,
          GITHUB_TOKEN,
          GITHUB_API_URL: github!.apiUrl,
          ANTHROPIC_API_KEY: MODEL_KEY,
          ANTHROPIC_BASE_URL: model!.url,
          WORKER_CONCURRENCY: '1',
          // A SIGTERMed worker hands its job back after 3 s rather than finishing it: the handover is what is tested.
          WORKER_SHUTDOWN_TIMEOUT_MS: '3000',
          SANDBOX_ROOT: slot.sandboxRoot,
          AGENT_TIMEOUT_MS: '60000',
        });
        processes.push(worker);
        slot.worker = worker;
        slot.retired = false;
        started.push(worker);
      }
      await Promise.all(started.map((w) => w.waitForOutput('worker started', 60_000)));
    };
    await Promise.all([waitForHttp(`${baseUrl}/ready`, 30_000), fill()]);
    watch = new LeftoverWatch({ soakDir, workerPids: () => liveWorkers().map((w) => w.child.pid!), sandboxRoots: () => slots.map((s) => s.sandboxRoot) });
    watch.start();
    const client = new TinyBackspaceClient({ baseUrl });

    const trials: TrialRecord[] = [];
    const deadline = Date.now() + opts.overallTimeoutMs;
    for (let trial = 1; trial <= opts.trials; trial++) {
      if (Date.now() > deadline || opts.signal?.aborted) break;
      await fill();
      const plan = planTrial(trial - 1, random, { ...(opts.faults ? { faults: opts.faults } : {}), points: opts.points ?? 'any', maxDelayMs: 8_000 });
      opts.log(`trial ${trial}/${opts.trials}: ${plan.fault} ${describeTrigger(plan.trigger)}`);
      const signal = AbortSignal.any([AbortSignal.timeout(opts.trialTimeoutMs), ...(opts.signal ? [opts.signal] : [])]);
      const record = await runTrial({ trial, plan, client, github, model, redis, slots, scenario, signal, log: opts.log });
      trials.push(record);
      opts.log(`trial ${trial}: ${record.outcome}, attempts ${record.attempts}, ${record.landed ? 'fault landed' : 'fault missed'} (${record.detail})${record.takeoverMs === undefined ? '' : `, takeover ${record.takeoverMs} ms`}`);
      // A SIGTERMed worker finishes its shutdown (a second SIGTERM would kill it outright) before it is replaced.
      await Promise.all(slots.filter((s) => s.retired && s.worker).map((s) => exited(s.worker!, 30_000)));
    }

    // Settle: whatever the faults left must go within the grace; then look at every job once more.
    opts.log('settling: waiting for sandboxes and their processes to go');
    const settleUntil = opts.signal?.aborted ? 0 : Date.now() + (opts.settleMs ?? 60_000);
    let leftovers = await watch.check();
    while ((leftovers.sandboxDirs.length > 0 || leftovers.processes.length > 0) && Date.now() < settleUntil) {
      await sleep(1_000);
      leftovers = await watch.check();
    }
    watch.stop();

    const stuckJobs: { jobId: string; state: string }[] = [];
    const duplicateJobs: { jobId: string; prs: number; branches: number }[] = [];
    const pulls = github.pulls(OWNER, REPO);
    const branches = listBranches(github);
    for (const t of trials) {
      const state = await client.status(t.jobId).then((s) => s.state as string, (err: unknown) => `unreadable (${String(err)})`);
      if (!TERMINAL.has(state as JobState)) stuckJobs.push({ jobId: t.jobId, state });
      const prs = pulls.filter((p) => p.head.ref.startsWith(`${BRANCH_PREFIX}${t.jobId}`)).length;
      const jobBranches = branches.filter((b) => b.startsWith(`${BRANCH_PREFIX}${t.jobId}`)).length;
      if (prs > 1 || jobBranches > 1) duplicateJobs.push({ jobId: t.jobId, prs, branches: jobBranches });
    }

    const takeovers = trials.filter((t) => t.fault === 'kill' && t.takeoverMs !== undefined).map((t) => t.takeoverMs! / 1000).sort((a, b) => a - b);
    const handovers = trials.filter((t) => t.fault === 'term' && t.takeoverMs !== undefined).map((t) => t.takeoverMs! / 1000).sort((a, b) => a - b);
    const counts = {
      lost: trials.filter((t) => t.outcome === 'lost').length,
      multiplePrs: duplicateJobs.filter((d) => d.prs > 1).length,
      multipleBranches: duplicateJobs.filter((d) => d.branches > 1).length,
      orphanSandboxDirs: leftovers.sandboxDirs.length,
      orphanProcesses: leftovers.processes.length,
      stuck: stuckJobs.length,
      failed: trials.filter((t) => t.outcome === 'failed').length,
    };
    const skipped = opts.trials - trials.length;
    const stat = (sorted: number[], p: number) => (sorted.length === 0 ? null : round(percentile(sorted, p), 2));
    return {
      startedAt: startedAt.toISOString(),
      durationS: round((Date.now() - startedAt.getTime()) / 1000, 1),
      seed: opts.seed,
      trials,
      skipped,
      counts,
      takeover: { samples: takeovers.length, p50S: stat(takeovers, 50), p99S: stat(takeovers, 99), maxS: stat(takeovers, 100) },
      handover: { samples: handovers.length, p50S: stat(handovers, 50), maxS: stat(handovers, 100) },
      leftovers,
      stuckJobs,
      duplicateJobs,
      ok:
        skipped === 0 &&
        counts.lost === 0 &&
        counts.multiplePrs === 0 &&
        counts.multipleBranches === 0 &&
        counts.orphanSandboxDirs === 0 &&
        counts.orphanProcesses === 0 &&
        counts.stuck === 0 &&
        counts.failed === 0,
    };
  } finally {
    watch?.stop();
    // Redis back first, so the processes shut down against a live server.
    if (redis !== undefined && !redis.running) await redis.start().catch(() => undefined);
    await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000).catch(() => undefined)));
    await Promise.all([github?.close(), model?.close(), redis?.close()]);
    await rm(soakDir, { recursive: true, force: true });
  }
}

interface TrialContext {
  trial: number;
  plan: TrialPlan;
  client: TinyBackspaceClient;
  github: FakeGitHub;
  model: FakeAnthropic;
  redis: RedisServer;
  slots: Slot[];
  scenario: string;
  /** Ends following the job: its timeout, or the soak's abort. */
  signal: AbortSignal;
  log: (line: string) => void;
}

/** One job, one fault: follows the job's stream to its end (or the timeout) and injects the fault on the way. */
async function runTrial(ctx: TrialContext): Promise<TrialRecord> {
  const { plan, client, github, model, redis } = ctx;
  const submittedAt = Date.now();
  const { id: jobId } = await client.submit({ repo_url: `${github.url}/${OWNER}/${REPO}`, prompt: `[scenario:${ctx.scenario}] Soak trial ${ctx.trial}: add a hello file` });
  const events: JobEvent[] = [];
  let ended = false;
  let landed = false;
  let detail = 'not injected';
  let faultAt: number | undefined;
  let takeoverMs: number | undefined;
  let injecting: Promise<void> | undefined;
  let eventArrived: () => void = () => undefined;

  const started = () => events.filter((e): e is Extract<JobEvent, { type: 'job.started' }> => e.type === 'job.started');
  const reached = (): boolean => {
    if (plan.trigger.kind === 'delay') return Date.now() - submittedAt >= plan.trigger.ms;
    const [type, step] = plan.trigger.event.split(':');
    return events.some((e) => e.type === type && (step === undefined || ('step' in e && e.step === step)));
  };

  const inject = async (): Promise<void> => {
    switch (plan.fault) {
      case 'kill':
      case 'term': {
        // The worker running the job: the latest attempt's. Before any start, wait for one.
        while (!ended && started().length === 0) await nextEvent();
        const attempt = started().at(-1);
        const slot = attempt && ctx.slots.find((s) => s.worker && !s.retired && attempt.workerId.endsWith(`:${s.worker.child.pid}`));
        if (ended || slot?.worker === undefined) {
          detail = ended ? 'job ended first' : `no live worker ${attempt?.workerId ?? ''}`;
          return;
        }
        slot.retired = true;
        slot.worker.child.kill(plan.fault === 'kill' ? 'SIGKILL' : 'SIGTERM');
        faultAt = Date.now();
        landed = true;
        detail = `${plan.fault === 'kill' ? 'SIGKILL' : 'SIGTERM'} worker ${slot.index} in attempt ${attempt!.attempt}`;
        return;
      }
      case 'redis': {
        faultAt = Date.now();
        await redis.stop();
        await sleep(plan.outageMs);
        await redis.start();
        landed = !ended || (events.at(-1) !== undefined && Date.parse(events.at(-1)!.at) > faultAt);
        detail = `Redis down ${Date.now() - faultAt} ms`;
        return;
      }
      case 'github5xx':
      case 'github429': {
        const status = plan.fault === 'github5xx' ? 502 : 429;
        const before = github.requests.length;
        github.failNext('*', GITHUB_PATTERNS[plan.githubTarget], status, plan.burst, status === 429 ? { headers: { 'retry-after': '1', 'x-ratelimit-remaining': '0' } } : {});
        faultAt = Date.now();
        // Counted when the job has ended: how many of the burst the job really met.
        const served = () => github.requests.slice(before).filter((r) => r.status === status && GITHUB_PATTERNS[plan.githubTarget].test(r.path)).length;
        while (!ended) await nextEvent();
        const hit = served();
        landed = hit > 0;
        detail = `${hit}/${plan.burst} × ${status} on ${plan.githubTarget}`;
        // A burst the job did not use up must not fall on the next trial.
        github.clearFaults();
        return;
      }
      case 'stream-cut': {
        const before = model.requests.length;
        model.cutNextStreams(1);
        faultAt = Date.now();
        while (!ended) await nextEvent();
        landed = model.requests.slice(before).some((r) => r.cut === true);
        detail = landed ? 'model stream cut mid-reply' : 'no model call after the point';
        model.cutNextStreams(0);
        return;
      }
    }
  };

  let wake: (() => void)[] = [];
  const nextEvent = () => new Promise<void>((resolve) => wake.push(resolve));
  eventArrived = () => {
    const waiting = wake;
    wake = [];
    for (const w of waiting) w();
  };
  // Delay triggers fire on the clock as well as on events.
  const ticker = setInterval(() => {
    if (injecting === undefined && reached()) injecting = inject();
    eventArrived();
  }, 50);

  const signal = ctx.signal;
  try {
    for await (const { event } of client.events(jobId, { signal, maxReconnects: 100 })) {
      events.push(event);
      if (faultAt !== undefined && takeoverMs === undefined && (plan.fault === 'kill' || plan.fault === 'term')) {
        if (event.type === 'job.recovered' || (event.type === 'job.started' && started().length > 1)) takeoverMs = Date.now() - faultAt;
      }
      if (event.type === 'job.succeeded' || event.type === 'job.failed' || event.type === 'job.cancelled') ended = true;
      if (injecting === undefined && !ended && reached()) injecting = inject();
      eventArrived();
    }
  } catch (err) {
    ctx.log(`trial ${ctx.trial}: event stream ended with ${String(err)}`);
  } finally {
    ended = true;
    clearInterval(ticker);
    eventArrived();
  }
  await injecting;

  const last = events.at(-1);
  const outcome = last?.type === 'job.succeeded' ? 'succeeded' : last?.type === 'job.failed' ? 'failed' : last?.type === 'job.cancelled' ? 'cancelled' : 'lost';
  return {
    trial: ctx.trial,
    jobId,
    fault: plan.fault,
    trigger: describeTrigger(plan.trigger),
    landed,
    detail,
    outcome,
    ...(last?.type === 'job.failed' ? { error: `${last.error.code}: ${last.error.message}`.slice(0, 200) } : {}),
    attempts: started().length,
    ...(takeoverMs === undefined ? {} : { takeoverMs }),
    durationMs: Date.now() - submittedAt,
  };
}

function listBranches(github: FakeGitHub): string[] {
  return execFileSync('git', ['--git-dir', github.repoDir(OWNER, REPO), 'for-each-ref', '--format=%(refname:short)', 'refs/heads/'])
    .toString()
    .split('\n')
    .filter(Boolean);
}

/** Resolves when the process has exited; SIGKILL past `timeoutMs`. */
async function exited(app: AppProcess, timeoutMs: number): Promise<void> {
  if (app.child.exitCode !== null || app.child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => app.child.once('exit', () => resolve()));
  const timer = setTimeout(() => app.child.kill('SIGKILL'), timeoutMs);
  try {
    await gone;
  } finally {
    clearTimeout(timer);
  }
}
