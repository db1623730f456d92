/**
 * The single BullMQ queue every code job went into before jobs were queued per agent. Nothing is added to it
 * any more; workers still drain it (each job is forwarded to its agent's queue), so an upgrade loses no job.
 */
export const CODE_JOBS_QUEUE = 'code-jobs';

/** The agents this codebase ships; a deployment may know others (KNOWN_AGENTS). */
export const BUILT_IN_AGENTS = ['claude-code', 'gemini', 'openai', 'codex'] as const;

/**
 * What an agent name may look like: it becomes part of a BullMQ queue name and of its Redis keys, where ':'
 * separates the parts (BullMQ refuses it) and braces would change the cluster hash slot.
 */
export const AGENT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * The BullMQ queue of one agent's jobs (`code.claude-code`). A worker consumes only the queues of the agents
 * it has credentials for, so a job never lands on a worker that cannot run it, and each queue's depth can
 * drive its own autoscaling. API and workers must agree on it (and on the prefix).
 */
export function agentQueueName(agent: string): string {
  if (!AGENT_NAME.test(agent)) throw new Error(`not a valid agent name for a queue: ${JSON.stringify(agent.slice(0, 64))}`);
  return `code.${agent}`;
}
