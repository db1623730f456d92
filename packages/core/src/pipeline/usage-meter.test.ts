import type { NewJobEvent } from '@tinyb/contracts';
import type { AppError } from '../errors.js';
import { JobUsageMeter, effectiveBudget } from './usage-meter.js';

function meter(opts: { previous?: { inputTokens: number; outputTokens: number; costUsd?: number }; maxCostUsd?: number; maxTokens?: number } = {}) {
  const events: NewJobEvent[] = [];
  const exceeded: AppError[] = [];
  const budget = {
    ...(opts.maxCostUsd === undefined ? {} : { maxCostUsd: opts.maxCostUsd }),
    ...(opts.maxTokens === undefined ? {} : { maxTokens: opts.maxTokens }),
  };
  const m = new JobUsageMeter({
    ...(opts.previous ? { previous: opts.previous } : {}),
    budget,
    emit: async (e) => void events.push(e),
    onExceeded: (err) => void exceeded.push(err),
  });
  return { m, events, exceeded };
}

describe('JobUsageMeter', () => {
  it('adds the run\'s cumulative reports to earlier attempts and publishes job totals only when they change', async () => {
    const { m, events } = meter({ previous: { inputTokens: 100, outputTokens: 10, costUsd: 0.5 } });
    await m.report({ inputTokens: 20, outputTokens: 2 });
    await m.report({ inputTokens: 20, outputTokens: 2 });
    await m.report({ inputTokens: 50, outputTokens: 5, costUsd: 0.25 });
    expect(events).toEqual([
      { type: 'agent.usage', inputTokens: 120, outputTokens: 12, costUsd: 0.5 },
      { type: 'agent.usage', inputTokens: 150, outputTokens: 15, costUsd: 0.75 },
    ]);
    expect(m.total()).toEqual({ inputTokens: 150, outputTokens: 15, costUsd: 0.75 });
  });

  it('has no cost until someone reports one', async () => {
    const { m } = meter();
    await m.report({ inputTokens: 1, outputTokens: 1 });
    expect(m.total()).toEqual({ inputTokens: 1, outputTokens: 1 });
  });

  it('calls onExceeded once, with budget_exceeded, when tokens or cost pass the budget', async () => {
    const tokens = meter({ maxTokens: 100 });
    await tokens.m.report({ inputTokens: 60, outputTokens: 40 });
    expect(tokens.exceeded).toEqual([]);
    await tokens.m.report({ inputTokens: 60, outputTokens: 41 });
    await tokens.m.report({ inputTokens: 90, outputTokens: 90 });
    expect(tokens.exceeded.map((e) => [e.code, e.retryable])).toEqual([['budget_exceeded', false]]);
    expect(tokens.exceeded[0]!.message).toMatch(/101 tokens passed the budget of 100/);

    const cost = meter({ previous: { inputTokens: 0, outputTokens: 0, costUsd: 0.9 }, maxCostUsd: 1 });
    await cost.m.report({ inputTokens: 1, outputTokens: 1, costUsd: 0.2 });
    expect(cost.exceeded[0]!.message).toMatch(/cost \$1\.1 passed the budget of \$1/);
  });

  it('tells what is left of the budget', async () => {
    const { m } = meter({ previous: { inputTokens: 10, outputTokens: 10, costUsd: 0.3 }, maxCostUsd: 1, maxTokens: 100 });
    expect(m.remaining()).toEqual({ maxCostUsd: 0.7, maxTokens: 80 });
    await m.report({ inputTokens: 100, outputTokens: 0, costUsd: 2 });
    expect(m.remaining()).toEqual({ maxCostUsd: 0, maxTokens: 0 });
    expect(meter().m.remaining()).toEqual({});
  });
});

describe('effectiveBudget', () => {
  it('takes the lower of the job\'s and the operator\'s limit, each independently', () => {
    expect(effectiveBudget(undefined, {})).toEqual({});
    expect(effectiveBudget({ maxCostUsd: 5 }, {})).toEqual({ maxCostUsd: 5 });
    expect(effectiveBudget({ maxCostUsd: 5, maxTokens: 10 }, { maxCostUsd: 2 })).toEqual({ maxCostUsd: 2, maxTokens: 10 });
    expect(effectiveBudget({ maxTokens: 1_000 }, { maxTokens: 500, maxCostUsd: 3 })).toEqual({ maxTokens: 500, maxCostUsd: 3 });
  });
});

describe('JobUsageMeter with two observers', () => {
  it('merges the agent\'s and the gateway\'s counts of the same calls field by field, never adding them', async () => {
    const { m, events } = meter();
    await m.report({ inputTokens: 100, outputTokens: 10 }, 'gateway');
    await m.report({ inputTokens: 80, outputTokens: 12, costUsd: 0.01 }, 'agent');
    expect(m.total()).toEqual({ inputTokens: 100, outputTokens: 12, costUsd: 0.01 });
    await m.report({ inputTokens: 150, outputTokens: 20 }, 'gateway');
    expect(m.total()).toEqual({ inputTokens: 150, outputTokens: 20, costUsd: 0.01 });
    expect(events.at(-1)).toEqual({ type: 'agent.usage', inputTokens: 150, outputTokens: 20, costUsd: 0.01 });
  });

  it('refuses the next call once the budget is spent, and ends the attempt once', async () => {
    const { m, exceeded } = meter({ maxTokens: 100 });
    expect(m.refuseIfSpent()).toBeNull();
    await m.report({ inputTokens: 90, outputTokens: 10 }, 'gateway');
    expect(exceeded).toEqual([]);
    const refusal = m.refuseIfSpent();
    expect(refusal?.code).toBe('budget_exceeded');
    expect(m.refuseIfSpent()?.code).toBe('budget_exceeded');
    expect(exceeded.map((e) => e.code)).toEqual(['budget_exceeded']);
    expect(meter().m.refuseIfSpent()).toBeNull();
  });
});
