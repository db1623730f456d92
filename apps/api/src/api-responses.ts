import { z } from 'zod';
import { JobStatus, OfferedAgent } from '@tinyb/contracts';
import type { LegacyFrame } from './legacy-events.js';

/**
 * The bodies the API answers with that are its own (the shared ones, JobStatus, JobList, ErrorBody, JobEvent,
 * live in @tinyb/contracts). They exist for the OpenAPI document, which is generated from them; the
 * conformance test holds the handlers to them by validating real responses against that document.
 */

export const JobLinks = z.object({
  self: z.string().describe('The job\'s status: GET it'),
  events: z.string().describe('The job\'s event stream (SSE)'),
});

/** `POST /api/jobs`: 202 for a new job, 200 for an idempotent replay of one. */
export const JobAccepted = z.object({ id: z.string(), status: z.literal('queued'), links: JobLinks });

/** `DELETE /api/jobs/{id}`: `cancelled` when no worker had taken it yet, else `cancelling` until its worker stops. */
export const CancelAccepted = z.object({ id: z.string(), status: z.enum(['cancelled', 'cancelling']), links: JobLinks });

/** `GET /api/jobs/{id}`. */
export const JobStatusWithLinks = JobStatus.extend({ links: JobLinks });

/** `GET /api/agents`: every known agent, with the live workers offering it. */
export const AgentList = z.object({
  default: z.string(),
  agents: z.array(OfferedAgent.extend({ default: z.boolean() })),
});

export const Health = z.object({ status: z.literal('ok') });
export const Readiness = z.object({ status: z.enum(['ready', 'unavailable']), redis: z.boolean() });

export const ServiceIndex = z.object({
  name: z.string(),
  version: z.string(),
  links: z.record(z.string(), z.string()),
});

/** `POST /webhooks/github` when the delivery was taken (its refusals are the usual ErrorBody). */
export const WebhookAccepted = z.object({ status: z.enum(['queued', 'duplicate', 'ignored']), reason: z.string().optional() });

/** One frame of the original Tiny Backspace stream (`POST /code`), as legacy-events.ts writes it. */
export const LegacyFrameSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('progress'), stage: z.string(), message: z.string() }),
  z.object({ type: z.literal('AI Message'), message: z.string() }),
  z.object({ type: z.literal('Tool: Read'), filepath: z.string() }),
  z.object({ type: z.literal('Tool: Edit'), filepath: z.string(), old_str: z.string(), new_str: z.string() }),
  z.object({ type: z.literal('Tool: Write'), filepath: z.string() }),
  z.object({ type: z.literal('Tool: Bash'), command: z.string(), output: z.string() }),
  z.object({
    type: z.literal('pr_created'),
    pr_url: z.string(),
    branch_name: z.string(),
    files_changed: z.array(z.string()),
    summary: z.string(),
  }),
  z.object({ type: z.literal('error'), message: z.string() }),
  z.object({ type: z.literal('complete'), pr_url: z.string().nullable(), summary: z.string() }),
]);

// The schema and the translator's type must describe the same frames: this fails to compile when they drift.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const legacyFramesAgree: Same<z.infer<typeof LegacyFrameSchema>, LegacyFrame> = true;
void legacyFramesAgree;
