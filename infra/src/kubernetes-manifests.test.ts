import { QueueKeys } from 'bullmq';
import { BUILT_IN_AGENTS, agentQueueName } from '@tinyb/contracts';
import { loadKustomizeBase, validateManifest, yamlFilesIn, type Manifest } from './kubernetes-manifests.js';

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string } };
  livenessProbe?: { httpGet?: { path: string } };
}
interface PodSpec {
  terminationGracePeriodSeconds?: number;
  containers: Container[];
}
const podSpec = (m: Manifest): PodSpec => (m.spec as { template: { spec: PodSpec } }).template.spec;

describe('the Kubernetes kustomize base (infra/k8s)', () => {
  const { resources, manifests } = loadKustomizeBase();
  const find = (kind: string, name: string): Manifest => {
    const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
    if (!found) throw new Error(`no ${kind} ${name}`);
    return found;
  };
  const config = (find('ConfigMap', 'tinyb-config').data ?? {}) as Record<string, string>;

  it('lists every manifest file in its resources', () => {
    expect([...resources].sort()).toEqual(yamlFilesIn());
  });

  it.each(manifests.map((m) => [`${m.kind} ${m.metadata.name}`, m] as const))('%s validates against its schema', (_name, manifest) => {
    expect(() => validateManifest(manifest)).not.toThrow();
  });

  it('rejects a manifest that breaks the schema (the validation can fail)', () => {
    const api = find('Deployment', 'tinyb-api');
    expect(() => validateManifest({ ...api, spec: { ...(api.spec as object), replicas: 'two' } })).toThrow(/replicas/);
    const scaled = find('ScaledObject', 'tinyb-worker-gemini');
    expect(() => validateManifest({ ...scaled, spec: { triggers: [] } })).toThrow(/scaleTargetRef/);
  });

  it('probes the API on /ready for readiness and /health for liveness, behind a Service', () => {
    const [api] = podSpec(find('Deployment', 'tinyb-api')).containers;
    expect(api?.readinessProbe?.httpGet?.path).toBe('/ready');
    expect(api?.livenessProbe?.httpGet?.path).toBe('/health');
    expect(find('Service', 'tinyb-api').spec).toMatchObject({ selector: { 'app.kubernetes.io/name': 'tinyb-api' } });
  });

  it.each(BUILT_IN_AGENTS.map((a) => [a]))('runs %s workers with only that agent\'s credentials and a grace period past the shutdown timeout', (agent) => {
    const spec = podSpec(find('Deployment', `tinyb-worker-${agent}`));
    const [worker] = spec.containers;
    const secrets = (worker?.envFrom ?? []).flatMap((e) => (e.secretRef ? [e.secretRef.name] : []));
    expect(secrets.filter((s) => s.startsWith('tinyb-agent-'))).toEqual([`tinyb-agent-${agent}`]);
    expect(secrets).toContain('tinyb-github');
    const env = new Map((worker?.env ?? []).map((e) => [e.name, e]));
    expect(env.get('REDIS_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({ name: 'tinyb-redis', key: 'REDIS_PASSWORD' });
    const shutdownMs = Number(env.get('WORKER_SHUTDOWN_TIMEOUT_MS')?.value);
    expect(shutdownMs).toBeGreaterThan(0);
    expect((spec.terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThanOrEqual(shutdownMs + 15_000);
  });

  it.each(BUILT_IN_AGENTS.map((a) => [a]))('scales %s workers from zero on the real BullMQ wait list of its queue', (agent) => {
    const scaled = find('ScaledObject', `tinyb-worker-${agent}`);
    const spec = scaled.spec as { scaleTargetRef: { name: string }; minReplicaCount: number; triggers: { type: string; metadata: Record<string, string> }[] };
    expect(spec.scaleTargetRef.name).toBe(`tinyb-worker-${agent}`);
    expect(spec.minReplicaCount).toBe(0);
    // The key BullMQ itself builds for the queue's waiting jobs, from the prefix the processes use.
    const keys = new QueueKeys(config.REDIS_PREFIX);
    const lists = spec.triggers.filter((t) => t.type === 'redis').map((t) => t.metadata.listName);
    expect(lists).toEqual([keys.toKey(agentQueueName(agent), 'wait'), keys.toKey(agentQueueName(agent), 'active')]);
    expect(lists[0]).toBe(`tinyb:code.${agent}:wait`);
  });

  it('keeps the API up and takes workers one at a time on voluntary disruptions', () => {
    expect(find('PodDisruptionBudget', 'tinyb-api').spec).toMatchObject({ minAvailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': 'tinyb-api' } } });
    const workers = find('PodDisruptionBudget', 'tinyb-workers').spec as { selector: { matchLabels: Record<string, string> } };
    for (const agent of BUILT_IN_AGENTS) {
      const labels = (find('Deployment', `tinyb-worker-${agent}`).spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
      expect(labels).toMatchObject(workers.selector.matchLabels);
    }
  });

  it('runs Redis with AOF, noeviction and a password from the Secret', () => {
    const conf = (find('ConfigMap', 'tinyb-redis-config').data as Record<string, string>)['redis.conf'];
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    const [redis] = podSpec(find('StatefulSet', 'redis')).containers;
    expect(redis?.args).toEqual(expect.arrayContaining(['--requirepass', '$(REDIS_PASSWORD)']));
    expect(redis?.env?.find((e) => e.name === 'REDIS_PASSWORD')?.valueFrom?.secretKeyRef?.name).toBe('tinyb-redis');
    expect(config.REDIS_URL).toBe('redis://redis:6379');
  });
});
