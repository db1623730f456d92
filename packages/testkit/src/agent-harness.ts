import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { NewJobEvent, Usage } from '@tinyb/contracts';
import {
  JobUsageMeter,
  silentLogger,
  type AgentRunInput,
  type Budget,
  type ExecOptions,
  type ExecResult,
  type Sandbox,
  type SandboxProvider,
  type StepContext,
  type UsageMeter,
} from '@tinyb/core';
import { FAKE_FILES } from './fake-anthropic.js';

/**
 * What the CodingAgent tests share: real sandboxes seeded with the small repository the fake models' scenarios
 * expect, a step context that records every event with its time, usage meters, and a scripted sandbox for unit
 * tests. Each agent's own test file keeps its assertions; this holds only the scaffolding.
 */

/** A sandbox with the scenarios' repository in it. */
export interface AgentWorkspace {
  sandbox: Sandbox;
  workdir: string;
  scratchDir: string;
  /** When the agent's own command last settled, to prove events arrived before it ended. */
  execEndedAt(): number | undefined;
}

export interface AgentSandboxesOptions {
  /** Names the temporary root directory and the jobs: `claude-int`, `gemini-int`, … */
  name: string;
  /**
   * The provider under test, rooted in a directory this harness removes after all tests. Made at the first
   * workspace, so it may use what `beforeAll` started: a sealed bwrap sandbox reaches a fake model only
   * through the fake's `sandboxForward` (`network: { forwards: [model.sandboxForward] }`).
   */
  provider(rootDir: string): SandboxProvider;
  /** Host paths to bind into each sandbox, read when a sandbox is made (the agent may not exist before). */
  toolPaths?(): string[];
  /** Which commands are the agent's own, for `execEndedAt`. */
  isAgentCommand?(argv: string[]): boolean;
}

/**
 * Registers jest hooks (sandboxes destroyed after each test, the root directory removed after all) and returns a
 * function that makes a fresh workspace: README.md holding `FAKE_FILES.readmeOldLine`, `FAKE_FILES.obsoletePath`,
 * and `git init`, so the `edit` and `multi` scenarios have something to change.
 */
export function agentSandboxes(opts: AgentSandboxesOptions): () => Promise<AgentWorkspace> {
  const rootDir = path.join(tmpdir(), `tinyb-${opts.name}-${process.pid}`);
  const live: Sandbox[] = [];
  let provider: SandboxProvider | undefined;
  let attempt = 0;

  afterEach(async () => {
    await Promise.all(live.splice(0).map((s) => s.destroy()));
  });
  afterAll(async () => {
    await rm(rootDir, { recursive: true, force: true });
  });

  return async () => {
    provider ??= opts.provider(rootDir);
    const spec = { jobId: `${opts.name}-${++attempt}`, attempt: 1, toolPaths: opts.toolPaths?.() ?? [] };
    const inner = await provider.create(spec, new AbortController().signal);
    live.push(inner);
    const workdir = `${inner.workspaceDir}/repo`;
    await inner.writeFile(`${workdir}/README.md`, `# Demo\n\n${FAKE_FILES.readmeOldLine}\n`);
    await inner.writeFile(`${workdir}/${FAKE_FILES.obsoletePath}`, 'old\n');
    expect((await inner.exec(['git', 'init', '-q'], { cwd: workdir })).exitCode).toBe(0);
    let endedAt: number | undefined;
    const sandbox: Sandbox = {
      id: inner.id,
      workspaceDir: inner.workspaceDir,
      readFile: (p) => inner.readFile(p),
      writeFile: (p, d) => inner.writeFile(p, d),
      destroy: () => inner.destroy(),
      exec: async (argv: string[], execOpts?: ExecOptions) => {
        try {
          return await inner.exec(argv, execOpts);
        } finally {
          if (opts.isAgentCommand?.(argv)) endedAt = Date.now();
        }
      },
    };
    return { sandbox, workdir, scratchDir: `${inner.workspaceDir}/scratch`, execEndedAt: () => endedAt };
  };
}

/** The input for one agent run in `ws`; 30 s and 10 turns unless said otherwise. */
export function agentInput(
  ws: AgentWorkspace,
  prompt: string,
  opts: { usage: UsageMeter; timeoutMs?: number; maxTurns?: number; model?: string },
): AgentRunInput {
  return {
    sandbox: ws.sandbox,
    workdir: ws.workdir,
    scratchDir: ws.scratchDir,
    prompt,
    timeoutMs: opts.timeoutMs ?? 30_000,
    maxTurns: opts.maxTurns ?? 10,
    usage: opts.usage,
    ...(opts.model ? { model: opts.model } : {}),
  };
}

export interface RecordedEvent {
  event: NewJobEvent;
  at: number;
}

export interface RecordingRun {
  ctx: StepContext;
  /** Every event emitted, the meter's agent.usage included, with `Date.now()` at emission. */
  events: RecordedEvent[];
  /** The real meter, emitting through `ctx`; passing the budget aborts `controller` with the meter's error. */
  meter: JobUsageMeter;
  /** Owns `ctx.signal`: a test cancels the job with `controller.abort(reason)`. */
  controller: AbortController;
  /** Resolves at the first event of `type`, whether it came already or comes later. */
  eventSeen(type: NewJobEvent['type']): Promise<void>;
}

export function recordingRun(opts: { jobId?: string; budget?: Budget } = {}): RecordingRun {
  const events: RecordedEvent[] = [];
  const waiters: { type: NewJobEvent['type']; resolve(): void }[] = [];
  const controller = new AbortController();
  const emit = async (event: NewJobEvent) => {
    events.push({ event, at: Date.now() });
    for (const w of waiters.filter((w) => w.type === event.type)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const meter = new JobUsageMeter({ budget: opts.budget ?? {}, emit, onExceeded: (err) => controller.abort(err) });
  return {
    ctx: { jobId: opts.jobId ?? 'job-agent-int', logger: silentLogger, signal: controller.signal, emit },
    events,
    meter,
    controller,
    eventSeen: (type) =>
      events.some((e) => e.event.type === type) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ type, resolve })),
  };
}

/** A UsageMeter that only records what it is told, with no budget. */
export function recordingMeter(): UsageMeter & { reports: Usage[] } {
  const reports: Usage[] = [];
  return { reports, report: async (u) => void reports.push(u), remaining: () => ({}), refuseIfSpent: () => null };
}

/** A step context for unit tests that collects the bare events into `events`. */
export function collectingContext(events: NewJobEvent[] = []): StepContext {
  return { jobId: 'j', logger: silentLogger, signal: new AbortController().signal, emit: async (e) => void events.push(e) };
}

/**
 * A sandbox whose agent command prints `stdout` (through `onOutput` too) and ends with `result`; `mkdir` just
 * succeeds. Every call and every file written is recorded; reading a file fails.
 */
export function scriptedSandbox(stdout: string, result: Partial<ExecResult> = {}) {
  const calls: { argv: string[]; opts: ExecOptions | undefined }[] = [];
  const writes = new Map<string, string>();
  const sandbox: Sandbox = {
    id: 'scripted',
    workspaceDir: '/w',
    async exec(argv, opts) {
      calls.push({ argv, opts });
      if (argv[0] === 'mkdir') return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
      opts?.onOutput?.({ stream: 'stdout', data: stdout });
      return { exitCode: 0, stdout, stderr: '', timedOut: false, ...result };
    },
    readFile: () => Promise.reject(new Error('unused')),
    writeFile: async (p, data) => void writes.set(p, typeof data === 'string' ? data : Buffer.from(data).toString('utf8')),
    destroy: () => Promise.resolve(),
  };
  return { sandbox, calls, writes };
}

/** Whether any process on this host still has `marker` in its command line. */
export async function processWith(marker: string): Promise<boolean> {
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if ((await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes(marker)) return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/** A unique word (letters and digits only) to find a process by, or to plant as a canary. */
export const nonce = (): string => `nonce${Math.random().toString(36).slice(2)}`;

export const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

/** Runs `fn` with `values` set in process.env, then puts every variable back as it was. */
export async function withEnv<T>(values: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(values).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, values);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
