import type { NewJobEvent, Usage } from '@tinyb/contracts';
import { AppError } from '../errors.js';

export interface Budget {
  maxCostUsd?: number;
  /** Input plus output tokens. */
  maxTokens?: number;
}

/**
 * Who saw the usage: the agent's own output (its CLI's counters) or the model gateway (the API responses
 * themselves). Both count the same calls, so they are merged, never added.
 */
export type UsageSource = 'agent' | 'gateway';

/**
 * What an agent (or the model gateway) tells the job about its spending. `report` takes the run's cumulative
 * totals so far (not deltas), so a CLI that corrects its count at the end (a final `result` line) simply
 * reports again.
 */
export interface UsageMeter {
  report(runTotal: Usage, source?: UsageSource): Promise<void>;
  /** What is left of the budget, for CLIs that can enforce a limit themselves (e.g. `--max-budget-usd`). */
  remaining(): Budget;
  /**
   * Asked before each model call: once the budget is spent, the `budget_exceeded` error that refuses the
   * call (and ends the attempt); null while there is budget left.
   */
  refuseIfSpent(): AppError | null;
}

/**
 * The job's usage across attempts: previous attempts' totals plus the current agent run. Each change is
 * published as `agent.usage` (the job's running totals); passing the budget calls `onExceeded` once with a
 * `budget_exceeded` error, which the caller uses to abort the attempt.
 */
export class JobUsageMeter implements UsageMeter {
  /** This run's cumulative totals, per source; the run's total is their field-wise maximum. */
  private readonly bySource = new Map<UsageSource, Usage>();
  private runTotal: Usage = { inputTokens: 0, outputTokens: 0 };
  private exceeded = false;

  constructor(
    private readonly deps: {
      previous?: Usage | null;
      budget: Budget;
      emit(event: NewJobEvent): Promise<void>;
      onExceeded(error: AppError): void;
    },
  ) {}

  total(): Usage {
    const previous = this.deps.previous ?? { inputTokens: 0, outputTokens: 0 };
    const cost =
      previous.costUsd === undefined && this.runTotal.costUsd === undefined
        ? undefined
        : (previous.costUsd ?? 0) + (this.runTotal.costUsd ?? 0);
    return {
      inputTokens: previous.inputTokens + this.runTotal.inputTokens,
      outputTokens: previous.outputTokens + this.runTotal.outputTokens,
      ...(cost === undefined ? {} : { costUsd: roundUsd(cost) }),
    };
  }

  async report(runTotal: Usage, source: UsageSource = 'agent'): Promise<void> {
    const before = this.total();
    this.bySource.set(source, runTotal);
    this.runTotal = mergeSources([...this.bySource.values()]);
    const after = this.total();
    if (after.inputTokens !== before.inputTokens || after.outputTokens !== before.outputTokens || after.costUsd !== before.costUsd) {
      await this.deps.emit({ type: 'agent.usage', ...after });
    }
    this.checkBudget(after);
  }

  remaining(): Budget {
    const { maxCostUsd, maxTokens } = this.deps.budget;
    const t = this.total();
    return {
      ...(maxCostUsd === undefined ? {} : { maxCostUsd: Math.max(0, roundUsd(maxCostUsd - (t.costUsd ?? 0))) }),
      ...(maxTokens === undefined ? {} : { maxTokens: Math.max(0, maxTokens - t.inputTokens - t.outputTokens) }),
    };
  }

  refuseIfSpent(): AppError | null {
    const { maxCostUsd, maxTokens } = this.remaining();
    if (maxCostUsd !== 0 && maxTokens !== 0) return null;
    const error = new AppError('budget_exceeded', `the job's budget is spent: ${maxTokens === 0 ? 'no tokens' : 'no cost'} left for another model call`);
    if (!this.exceeded) {
      this.exceeded = true;
      this.deps.onExceeded(error);
    }
    return error;
  }

  private checkBudget(t: Usage): void {
    if (this.exceeded) return;
    const { maxCostUsd, maxTokens } = this.deps.budget;
    let why: string | undefined;
    if (maxCostUsd !== undefined && (t.costUsd ?? 0) > maxCostUsd) why = `cost $${t.costUsd} passed the budget of $${maxCostUsd}`;
    const tokens = t.inputTokens + t.outputTokens;
    if (maxTokens !== undefined && tokens > maxTokens) why = `${tokens} tokens passed the budget of ${maxTokens}`;
    if (why === undefined) return;
    this.exceeded = true;
    this.deps.onExceeded(new AppError('budget_exceeded', `the job's budget is spent: ${why}`));
  }
}

/** Combines a job's own budget with the operator's: the lower limit wins. */
export function effectiveBudget(requested: Budget | undefined, operator: Budget): Budget {
  const lower = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
  const maxCostUsd = lower(requested?.maxCostUsd, operator.maxCostUsd);
  const maxTokens = lower(requested?.maxTokens, operator.maxTokens);
  return { ...(maxCostUsd === undefined ? {} : { maxCostUsd }), ...(maxTokens === undefined ? {} : { maxTokens }) };
}

/** Two observers of the same calls: each field is the larger count (one of them may lag, never both over-count). */
function mergeSources(totals: Usage[]): Usage {
  const costs = totals.map((t) => t.costUsd).filter((c): c is number => c !== undefined);
  return {
    inputTokens: Math.max(0, ...totals.map((t) => t.inputTokens)),
    outputTokens: Math.max(0, ...totals.map((t) => t.outputTokens)),
    ...(costs.length === 0 ? {} : { costUsd: Math.max(...costs) }),
  };
}

const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;
