/** The faults a soak trial can inject, one per trial. */
export const FAULTS = ['kill', 'term', 'redis', 'github5xx', 'github429', 'stream-cut'] as const;
export type Fault = (typeof FAULTS)[number];

/**
 * Points of a job a fault can be injected at: a delay after the submit, or the first event of a kind. A point the
 * job never reaches (its terminal event comes first) leaves the trial without a fault, which the report shows.
 */
export const TRIGGER_EVENTS = [
  'job.started',
  'step.started:clone',
  'step.started:run_agent',
  'agent.tool_call',
  'agent.tool_result',
  'step.started:commit',
  'step.started:open_pr',
] as const;
export type TriggerEvent = (typeof TRIGGER_EVENTS)[number];

/** Events every job reaches with work still ahead of it (the agent's turns, the commit and the PR): a fault there always meets the job. */
export const MID_JOB_EVENTS: readonly TriggerEvent[] = ['job.started', 'step.started:clone', 'step.started:run_agent', 'agent.tool_call'];

/** `any`: a delay or any event; `mid-job`: only MID_JOB_EVENTS, for short runs that must cover each fault. */
export type PointChoice = 'any' | 'mid-job';

export type Trigger = { kind: 'delay'; ms: number } | { kind: 'event'; event: TriggerEvent };

/** Which GitHub requests a burst fails: `GET /repos/...` for metadata and checkouts, the git data API, pulls. */
export const GITHUB_TARGETS = ['any', 'git-data', 'pulls'] as const;
export type GitHubTarget = (typeof GITHUB_TARGETS)[number];

export interface TrialPlan {
  fault: Fault;
  trigger: Trigger;
  /** `redis`: how long Redis stays down. */
  outageMs: number;
  /** `github5xx`/`github429`: how many requests fail, and which. */
  burst: number;
  githubTarget: GitHubTarget;
}

/** mulberry32: a small seeded generator, so a soak's random points can be replayed with `--seed`. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The plan of trial `index`: with `faults` given, they are taken in turn (so a short run covers each of them);
 * otherwise one is drawn. The point is drawn either way: half the time a delay of up to `maxDelayMs` after the
 * submit, else one of the job's events (with `points: 'mid-job'`, one of MID_JOB_EVENTS).
 */
export function planTrial(index: number, random: () => number, opts: { faults?: readonly Fault[]; points?: PointChoice; maxDelayMs: number }): TrialPlan {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const fault = opts.faults !== undefined && opts.faults.length > 0 ? opts.faults[index % opts.faults.length]! : pick(FAULTS);
  const trigger: Trigger =
    opts.points === 'mid-job'
      ? { kind: 'event', event: pick(MID_JOB_EVENTS) }
      : random() < 0.5
        ? { kind: 'delay', ms: Math.round(random() * opts.maxDelayMs) }
        : { kind: 'event', event: pick(TRIGGER_EVENTS) };
  return {
    fault,
    trigger,
    outageMs: 1_000 + Math.round(random() * 3_000),
    burst: 1 + Math.floor(random() * 4),
    githubTarget: pick(GITHUB_TARGETS),
  };
}

export function describeTrigger(trigger: Trigger): string {
  return trigger.kind === 'delay' ? `+${trigger.ms} ms` : `after ${trigger.event}`;
}

export function parseFaults(list: string): Fault[] {
  const names = list.split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(FAULTS as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) throw new Error(`--faults takes a list of ${FAULTS.join(', ')} (got ${list})`);
  return names as Fault[];
}
