import { ConfigError } from '@tinyb/runtime';
import { thrownBy } from '@tinyb/testkit/caught';
import { loadApiEnv } from './env.js';

const configError = (env: NodeJS.ProcessEnv): ConfigError => thrownBy(() => loadApiEnv(env), ConfigError);

describe('loadApiEnv', () => {
  it('applies the defaults to an empty environment (other variables may be added)', () => {
    expect(loadApiEnv({})).toMatchObject({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'tinyb',
      GITHUB_URL: 'https://github.com',
      EVENTS_RETENTION_MS: 86_400_000,
      PORT: 8000,
      HOST: '0.0.0.0',
      DEFAULT_AGENT: 'claude-code',
      KNOWN_AGENTS: ['claude-code', 'gemini', 'openai', 'codex'],
      JOB_ATTEMPTS: 3,
      JOB_BACKOFF_MS: 15_000,
      SSE_HEARTBEAT_MS: 30_000,
      REDIS_COMMAND_TIMEOUT_MS: 1_000,
    });
  });

  it('reads what is set, converting numbers and booleans', () => {
    const env = loadApiEnv({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: 'redis://redis:6379/2',
      LOG_PRETTY: 'no',
      API_TOKEN: 's'.repeat(16),
      DEFAULT_AGENT: 'gemini',
      JOB_ATTEMPTS: '5',
    });
    expect(env).toMatchObject({
      PORT: 0,
      HOST: '127.0.0.1',
      REDIS_URL: 'redis://redis:6379/2',
      LOG_PRETTY: false,
      API_TOKEN: 's'.repeat(16),
      DEFAULT_AGENT: 'gemini',
      JOB_ATTEMPTS: 5,
    });
  });

  it('reads KNOWN_AGENTS as a trimmed list without duplicates', () => {
    expect(loadApiEnv({ KNOWN_AGENTS: ' gemini, my-agent,gemini,', DEFAULT_AGENT: 'my-agent' }).KNOWN_AGENTS).toEqual(['gemini', 'my-agent']);
  });

  it('ignores variables it does not know', () => {
    expect(loadApiEnv({ PATH: '/usr/bin', HOME: '/root' })).not.toHaveProperty('PATH');
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['a non-numeric PORT', { PORT: 'http' }, /^invalid configuration: PORT: /],
    ['a PORT above 65535', { PORT: '65536' }, /^invalid configuration: PORT: /],
    ['a negative PORT', { PORT: '-1' }, /^invalid configuration: PORT: /],
    ['a fractional PORT', { PORT: '80.5' }, /^invalid configuration: PORT: /],
    ['a short API_TOKEN', { API_TOKEN: 'short' }, /API_TOKEN: must be at least 16 characters/],
    ['REDIS_URL that is not a URL', { REDIS_URL: 'not a url' }, /REDIS_URL: /],
    ['GITHUB_URL that is not a URL', { GITHUB_URL: 'github.com' }, /GITHUB_URL: /],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'verbose' }, /LOG_LEVEL: /],
    ['LOG_PRETTY that is not a boolean', { LOG_PRETTY: 'maybe' }, /LOG_PRETTY: /],
    ['JOB_ATTEMPTS of 0', { JOB_ATTEMPTS: '0' }, /JOB_ATTEMPTS: /],
    ['JOB_ATTEMPTS over 10', { JOB_ATTEMPTS: '11' }, /JOB_ATTEMPTS: /],
    ['a REDIS_PREFIX with spaces', { REDIS_PREFIX: 'my app' }, /REDIS_PREFIX: /],
    ['an agent name that cannot name a queue', { KNOWN_AGENTS: 'claude-code,evil:agent' }, /KNOWN_AGENTS.*lowercase/],
    ['a DEFAULT_AGENT not among KNOWN_AGENTS', { KNOWN_AGENTS: 'gemini', DEFAULT_AGENT: 'claude-code' }, /DEFAULT_AGENT: must be one of KNOWN_AGENTS \(gemini\)/],
  ])('refuses %s with a ConfigError naming the variable', (_name, env, message) => {
    const err = configError(env);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(message);
  });

  it('names every bad variable in one message', () => {
    const { message } = configError({ PORT: 'x', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/PORT: /);
    expect(message).toMatch(/LOG_LEVEL: /);
    expect(message.split('\n')).toHaveLength(1);
  });
});

describe('loadApiEnv: tenants and limits', () => {
  const hash = (c: string) => c.repeat(64);

  it('reads API_KEYS into tenants and key hashes, with the limits', () => {
    const env = loadApiEnv({ API_KEYS: `alice:${hash('a')}, bob:${hash('B')}`, RATE_LIMIT_SUBMITS_PER_MIN: '0', MAX_ACTIVE_JOBS_PER_TENANT: '5' });
    expect(env.API_KEYS.map((k) => [k.tenant, k.keyHash.toString('hex')])).toEqual([
      ['alice', hash('a')],
      ['bob', hash('b')],
    ]);
    expect(env).toMatchObject({ RATE_LIMIT_SUBMITS_PER_MIN: 0, MAX_ACTIVE_JOBS_PER_TENANT: 5 });
  });

  it('defaults to no tenants, 60 submits a minute and 20 active jobs', () => {
    expect(loadApiEnv({})).toMatchObject({ API_KEYS: [], RATE_LIMIT_SUBMITS_PER_MIN: 60, MAX_ACTIVE_JOBS_PER_TENANT: 20 });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['a hash that is not hex', { API_KEYS: `alice:${hash('z')}` }, /API_KEYS: .*64 hex characters/],
    ['a duplicate tenant', { API_KEYS: `alice:${hash('a')},alice:${hash('b')}` }, /API_KEYS: .*'alice' is configured twice/],
    ['an empty tenant name', { API_KEYS: `:${hash('a')}` }, /API_KEYS: .*empty tenant name/],
    ['a negative rate limit', { RATE_LIMIT_SUBMITS_PER_MIN: '-1' }, /RATE_LIMIT_SUBMITS_PER_MIN: /],
    ['a fractional active cap', { MAX_ACTIVE_JOBS_PER_TENANT: '1.5' }, /MAX_ACTIVE_JOBS_PER_TENANT: /],
  ])('refuses %s with a ConfigError naming the variable', (_name, env, message) => {
    expect(configError(env).message).toMatch(message);
  });
});
