import type { OfferedAgent } from '@tinyb/contracts';

/**
 * Every known agent with the live workers offering it, 0 included, in the configured order. An agent a
 * worker offers that the deployment does not know is left out: no job can be submitted for it.
 */
export function knownAgentsWithWorkers(known: readonly string[], offered: readonly OfferedAgent[]): OfferedAgent[] {
  return known.map((name) => offered.find((a) => a.name === name) ?? { name, workers: 0, defaultModels: [] });
}
