import type { RedisClient } from './redis-target.js';
import { z } from 'zod';
import type { OfferedAgent } from '@tinyb/contracts';
import { silentLogger, type AgentCatalog, type Logger } from '@tinyb/core';
import { DEFAULT_QUEUE_PREFIX, queueKeys } from './queue-keys.js';

export const WorkerAdvertisement = z.object({
  workerId: z.string(),
  /** Agents this worker can run (their credentials are configured), with the model each uses by default. */
  agents: z.array(z.object({ name: z.string(), defaultModel: z.string().optional() })),
  sandbox: z.string(),
  startedAt: z.string(),
});
export type WorkerAdvertisement = z.infer<typeof WorkerAdvertisement>;


export interface WorkerRegistryDeps {
  redis: RedisClient;
  prefix?: string;
  /**
   * How long an advertisement counts after the worker's last heartbeat. Long enough that a rolling restart of
   * every worker does not make the API refuse jobs meanwhile. Default 5 min.
   */
  ttlMs?: number;
  logger?: Logger;
}

/**
 * Which agents the fleet can run. Credentials live only with the workers, so each worker advertises its
 * agents here, and the API offers the union: an agent no worker has credentials for is never accepted.
 */
export class WorkerRegistry implements AgentCatalog {
  private readonly prefix: string;
  private readonly ttlMs: number;
  private readonly logger: Logger;

  constructor(private readonly deps: WorkerRegistryDeps) {
    this.prefix = deps.prefix ?? DEFAULT_QUEUE_PREFIX;
    this.ttlMs = deps.ttlMs ?? 5 * 60_000;
    this.logger = deps.logger ?? silentLogger;
  }

  async advertise(ad: WorkerAdvertisement, now = Date.now()): Promise<void> {
    await this.deps.redis
      .multi()
      .zadd(queueKeys.workers(this.prefix), now + this.ttlMs, ad.workerId)
      .hset(queueKeys.workerInfo(this.prefix), ad.workerId, JSON.stringify(ad))
      .exec();
  }

  /** Advertises now and then every `intervalMs` until `stop()`. */
  async startHeartbeat(ad: WorkerAdvertisement, intervalMs = 30_000): Promise<{ stop(): void }> {
    await this.advertise(ad);
    const timer = setInterval(() => {
      this.advertise(ad).catch((err: unknown) => this.logger.warn({ err }, 'worker heartbeat failed'));
    }, intervalMs);
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  async liveWorkers(now = Date.now()): Promise<WorkerAdvertisement[]> {
    const key = queueKeys.workers(this.prefix);
    const infoKey = queueKeys.workerInfo(this.prefix);
    const expired = await this.deps.redis.zrangebyscore(key, '-inf', now);
    if (expired.length > 0) {
      await this.deps.redis.multi().zrem(key, ...expired).hdel(infoKey, ...expired).exec();
    }
    const ids = await this.deps.redis.zrangebyscore(key, now, '+inf');
    if (ids.length === 0) return [];
    const infos = await this.deps.redis.hmget(infoKey, ...ids);
    return infos.flatMap((raw) => {
      const parsed = raw === null ? undefined : WorkerAdvertisement.safeParse(safeJson(raw));
      return parsed?.success ? [parsed.data] : [];
    });
  }

  async offeredAgents(now = Date.now()): Promise<OfferedAgent[]> {
    const byName = new Map<string, OfferedAgent>();
    for (const worker of await this.liveWorkers(now)) {
      for (const agent of worker.agents) {
        const offered = byName.get(agent.name) ?? { name: agent.name, workers: 0, defaultModels: [] };
        offered.workers += 1;
        if (agent.defaultModel && !offered.defaultModels.includes(agent.defaultModel)) offered.defaultModels.push(agent.defaultModel);
        byName.set(agent.name, offered);
      }
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
