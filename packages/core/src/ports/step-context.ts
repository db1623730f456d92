import type { NewJobEvent } from '@tinyb/contracts';
import type { Logger } from '../logger.js';
import type { SpanRunner } from './telemetry.js';

/** What every step gets: who it works for, how to report, and when to stop. */
export interface StepContext {
  jobId: string;
  logger: Logger;
  /** Aborted when the job is cancelled or must stop; every wait honours it. */
  signal: AbortSignal;
  /** Publishes a progress event; resolves once it is durably recorded. */
  emit(event: NewJobEvent): Promise<void>;
  /** Traces each step as a span (`step.<name>`); absent when tracing is off. */
  spans?: SpanRunner;
}
