import type { OfferedAgent } from '@tinyb/contracts';

/** The agents the worker fleet can run right now (each worker offers those it has credentials for). */
export interface AgentCatalog {
  offeredAgents(): Promise<OfferedAgent[]>;
}
