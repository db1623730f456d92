import { CodeJobQueue, createRedisConnection } from '@tinyb/queue';
import { loadKustomizeBase } from './kubernetes-manifests.js';

// The ScaledObjects name `tinyb:code.<agent>:wait`; here a job is really queued (under a private prefix in
// place of `tinyb`) and that key is checked to be the list, with the job, that KEDA's LLEN would read.
type Logger = Parameters<typeof createRedisConnection>[1];
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

describe('the KEDA triggers against a real queue', () => {
  const prefix = `tinyb-keda-${process.pid}`;
  const redis = createRedisConnection(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', quiet);
  const queue = new CodeJobQueue({ redis, prefix, agents: ['gemini'] });

  afterAll(async () => {
    await queue.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('counts a queued job on the list the gemini ScaledObject names', async () => {
    const scaled = loadKustomizeBase().manifests.find((m) => m.kind === 'ScaledObject' && m.metadata.name === 'tinyb-worker-gemini');
    const triggers = (scaled?.spec as { triggers: { metadata: { listName: string } }[] }).triggers;
    const [wait, active] = triggers.map((t) => t.metadata.listName.replace(/^tinyb:/, `${prefix}:`));
    await queue.enqueue({ repo: { owner: 'o', name: 'r', url: 'https://github.example/o/r' }, prompt: 'p', agent: 'gemini', draft: false, requestedAt: new Date().toISOString() });
    expect(await redis.type(wait!)).toBe('list');
    expect(await redis.llen(wait!)).toBe(1);
    expect(await redis.llen(active!)).toBe(0);
  });
});
