import type { NewJobEvent, Usage } from '@tinyb/contracts';
import { AppError } from '../errors.js';

export interface Budget {
  maxCostUsd?: number;
  /** Input plus output tokens. */
  maxTokens?: number;
}

/**
 * What an agent tells the job about its spending. `report` takes the run's cumulative totals so far (not
 * deltas), so a CLI that corrects its count at the end (a final `result` line) simply reports again.
 */
export interface UsageMeter {
  report(runTotal: Usage): Promise<void>;
  /** What is left of the budget, for CLIs that can enforce a limit themselves (e.g. `--max-budget-usd`). */
  remaining(): Budget;
}

/**
 * The job's usage across attempts: previous attempts' totals plus the current agent run. Each change is
 * published as `agent.usage` (the job's running totals); passing the budget calls `onExceeded` once with a
 * `budget_exceeded` error, which the caller uses to abort the attempt.
 */
export class JobUsageMeter implements UsageMeter {
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

  async report(runTotal: Usage): Promise<void> {
    const before = this.total();
    this.runTotal = runTotal;
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

const roundUsd = (usd: number) => Math.round(usd * 1e6) / 1e6;
