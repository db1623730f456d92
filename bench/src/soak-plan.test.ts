import { FAULTS, MID_JOB_EVENTS, parseFaults, planTrial, seededRandom } from './soak-plan.js';

describe('soak plans', () => {
  it('takes given faults in turn and draws points among the mid-job events only when asked', () => {
    const random = seededRandom(42);
    const plans = Array.from({ length: 6 }, (_, i) => planTrial(i, random, { faults: ['kill', 'redis', 'github5xx'], points: 'mid-job', maxDelayMs: 8_000 }));
    expect(plans.map((p) => p.fault)).toEqual(['kill', 'redis', 'github5xx', 'kill', 'redis', 'github5xx']);
    for (const p of plans) {
      expect(p.trigger.kind).toBe('event');
      expect(MID_JOB_EVENTS).toContain(p.trigger.kind === 'event' ? p.trigger.event : '');
      expect(p.burst).toBeGreaterThanOrEqual(1);
      expect(p.burst).toBeLessThanOrEqual(4);
      expect(p.outageMs).toBeGreaterThanOrEqual(1_000);
      expect(p.outageMs).toBeLessThanOrEqual(4_000);
    }
  });

  it('replays the same plans from the same seed, and draws every fault and both kinds of point over a long run', () => {
    const run = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 200 }, (_, i) => planTrial(i, random, { maxDelayMs: 8_000 }));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
    const plans = run(7);
    expect(new Set(plans.map((p) => p.fault))).toEqual(new Set(FAULTS));
    expect(new Set(plans.map((p) => p.trigger.kind))).toEqual(new Set(['delay', 'event']));
    for (const p of plans) if (p.trigger.kind === 'delay') expect(p.trigger.ms).toBeLessThanOrEqual(8_000);
  });

  it('refuses an unknown fault name', () => {
    expect(parseFaults('kill, redis')).toEqual(['kill', 'redis']);
    expect(() => parseFaults('kill,reboot')).toThrow(/--faults takes a list of kill, term/);
    expect(() => parseFaults('')).toThrow();
  });
});
