import { ConfigError } from '@tinyb/runtime';
import { thrownBy } from '@tinyb/testkit/caught';
import { loadWorkerEnv } from './env.js';

const REQUIRED = { GITHUB_TOKEN: 'ghp_test', ANTHROPIC_API_KEY: 'sk-ant-test' };

const configError = (env: NodeJS.ProcessEnv): ConfigError => thrownBy(() => loadWorkerEnv(env), ConfigError);

describe('loadWorkerEnv', () => {
  it('applies the defaults once the required secrets are set (other variables may be added)', () => {
    expect(loadWorkerEnv(REQUIRED)).toMatchObject({
      ...REQUIRED,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_PREFIX: 'tinyb',
      GITHUB_URL: 'https://github.com',
      EVENTS_RETENTION_MS: 86_400_000,
      WORKER_CONCURRENCY: 2,
      WORKER_SHUTDOWN_TIMEOUT_MS: 300_000,
      WORKER_LOCK_DURATION_MS: 8_000,
      WORKER_STALLED_INTERVAL_MS: 1_000,
      JOB_TIMEOUT_MS: 1_800_000,
      AGENT_TIMEOUT_MS: 1_200_000,
      AGENT_MAX_TURNS: 50,
      CHECKS_ENABLED: true,
      CHECK_TIMEOUT_MS: 600_000,
      CHECKS_TOTAL_TIMEOUT_MS: 1_200_000,
      CHECK_FIX_ROUNDS: 2,
      MAX_CHANGED_FILES: 500,
      MAX_CHANGE_BYTES: 50 * 1024 * 1024,
      BRANCH_PREFIX: 'tinyb/',
      SANDBOX_PROVIDER: 'local',
      SANDBOX_ALLOW_UNISOLATED: false,
      GITHUB_API_URL: 'https://api.github.com',
      GITHUB_THROTTLE: true,
      GITHUB_RETRIES: 3,
    });
  });

  it('reads what is set, converting numbers and booleans', () => {
    expect(
      loadWorkerEnv({
        ...REQUIRED,
        WORKER_CONCURRENCY: '8',
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '500',
        GITHUB_THROTTLE: 'false',
        SANDBOX_ALLOW_UNISOLATED: '1',
        BRANCH_PREFIX: 'bots/tinyb-',
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9000',
        GITHUB_RETRIES: '0',
        CHECKS_ENABLED: 'false',
        CHECK_TIMEOUT_MS: '30000',
        CHECK_FIX_ROUNDS: '0',
      }),
    ).toMatchObject({
      WORKER_CONCURRENCY: 8,
      WORKER_LOCK_DURATION_MS: 2_000,
      WORKER_STALLED_INTERVAL_MS: 500,
      GITHUB_THROTTLE: false,
      SANDBOX_ALLOW_UNISOLATED: true,
      BRANCH_PREFIX: 'bots/tinyb-',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9000',
      GITHUB_RETRIES: 0,
      CHECKS_ENABLED: false,
      CHECK_TIMEOUT_MS: 30_000,
      CHECK_FIX_ROUNDS: 0,
    });
  });

  it('accepts a GitHub App instead of a token, and any one configured agent', () => {
    expect(loadWorkerEnv({ GITHUB_APP_ID: '42', GITHUB_APP_PRIVATE_KEY: '/etc/app.pem', GEMINI_API_KEY: 'g' })).toMatchObject({
      GITHUB_APP_ID: '42',
      GEMINI_API_KEY: 'g',
    });
    expect(loadWorkerEnv({ GITHUB_TOKEN: 't', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1', OPENAI_MODEL: 'qwen' })).toMatchObject({
      OPENAI_MODEL: 'qwen',
    });
    expect(loadWorkerEnv({ GITHUB_TOKEN: 't', CODEX_API_KEY: 'sk-codex' })).toMatchObject({ CODEX_API_KEY: 'sk-codex' });
  });

  it.each<[string, NodeJS.ProcessEnv, RegExp]>([
    ['a missing GITHUB_TOKEN', { ANTHROPIC_API_KEY: 'k' }, /^invalid configuration: GITHUB_TOKEN\b[^;]*$/],
    ['an empty GITHUB_TOKEN (as in .env.example)', { ...REQUIRED, GITHUB_TOKEN: '' }, /^invalid configuration: GITHUB_TOKEN: is required unless a GitHub App is configured/],
    ['half a GitHub App', { ANTHROPIC_API_KEY: 'k', GITHUB_APP_ID: '123' }, /GITHUB_APP_PRIVATE_KEY: is required with the other GitHub App setting/],
    ['a non-numeric GITHUB_APP_ID', { ...REQUIRED, GITHUB_APP_ID: 'Iv1.abc', GITHUB_APP_PRIVATE_KEY: 'pem' }, /GITHUB_APP_ID: must be the numeric App ID/],
    ['an openai agent without a model', { GITHUB_TOKEN: 't', OPENAI_API_KEY: 'sk' }, /OPENAI_MODEL: is required for the openai agent/],
    ['a codex model without a key', { ...REQUIRED, CODEX_MODEL: 'gpt-5.5' }, /CODEX_API_KEY: is required for the codex agent/],
    ['a missing ANTHROPIC_API_KEY', { GITHUB_TOKEN: 't' }, /^invalid configuration: ANTHROPIC_API_KEY\b[^;]*$/],
    ['an empty ANTHROPIC_API_KEY', { ...REQUIRED, ANTHROPIC_API_KEY: '' }, /ANTHROPIC_API_KEY: no agent is configured/],
    ['WORKER_CONCURRENCY of 0', { ...REQUIRED, WORKER_CONCURRENCY: '0' }, /WORKER_CONCURRENCY: /],
    ['WORKER_CONCURRENCY over 64', { ...REQUIRED, WORKER_CONCURRENCY: '65' }, /WORKER_CONCURRENCY: /],
    ['a non-numeric WORKER_CONCURRENCY', { ...REQUIRED, WORKER_CONCURRENCY: 'many' }, /WORKER_CONCURRENCY: /],
    ['a zero JOB_TIMEOUT_MS', { ...REQUIRED, JOB_TIMEOUT_MS: '0' }, /JOB_TIMEOUT_MS: /],
    ['a BRANCH_PREFIX with a space', { ...REQUIRED, BRANCH_PREFIX: 'my branch/' }, /BRANCH_PREFIX: /],
    ['an unknown SANDBOX_PROVIDER', { ...REQUIRED, SANDBOX_PROVIDER: 'docker' }, /SANDBOX_PROVIDER: /],
    ['GITHUB_THROTTLE that is not a boolean', { ...REQUIRED, GITHUB_THROTTLE: 'off' }, /GITHUB_THROTTLE: /],
    ['GITHUB_API_URL that is not a URL', { ...REQUIRED, GITHUB_API_URL: 'api.github.com' }, /GITHUB_API_URL: /],
    ['GITHUB_RETRIES over 10', { ...REQUIRED, GITHUB_RETRIES: '11' }, /GITHUB_RETRIES: /],
  ])('refuses %s with a ConfigError naming the variable', (_name, env, message) => {
    const err = configError(env);
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(message);
  });

  it('takes a Claude subscription token instead of an API key, and the seed\'s commit author names', () => {
    const env = loadWorkerEnv({ GITHUB_TOKEN: 't', CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-x', GITHUB_USERNAME: 'Ada', GITHUB_EMAIL: 'ada@example.com' });
    expect(env).toMatchObject({ CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-x', COMMIT_AUTHOR_NAME: 'Ada', COMMIT_AUTHOR_EMAIL: 'ada@example.com' });
    expect(env.ANTHROPIC_API_KEY).toBeUndefined();
    const ours = loadWorkerEnv({ ...REQUIRED, COMMIT_AUTHOR_NAME: 'Bot', COMMIT_AUTHOR_EMAIL: 'bot@example.com', GITHUB_USERNAME: 'Ada' });
    expect(ours).toMatchObject({ COMMIT_AUTHOR_NAME: 'Bot', COMMIT_AUTHOR_EMAIL: 'bot@example.com' });
    expect(configError({ ...REQUIRED, COMMIT_AUTHOR_NAME: 'Bot', COMMIT_AUTHOR_EMAIL: 'not-an-email' }).message).toMatch(/COMMIT_AUTHOR_EMAIL/);
    expect(configError({ ...REQUIRED, COMMIT_AUTHOR_NAME: 'Bot' }).message).toMatch(/COMMIT_AUTHOR_EMAIL: is required with the other/);
  });

  it('refuses Daytona without a public model gateway unless the weaker mode is chosen', () => {
    const daytona = { ...REQUIRED, SANDBOX_PROVIDER: 'daytona', DAYTONA_API_KEY: 'dtn_x', DAYTONA_SNAPSHOT: 'snap' };
    expect(configError(daytona).message).toMatch(/MODEL_GATEWAY_PUBLIC_URL: is required with SANDBOX_PROVIDER=daytona.*ALLOW_MODEL_KEY_IN_SANDBOX/);
    expect(loadWorkerEnv({ ...daytona, MODEL_GATEWAY_PUBLIC_URL: 'https://gw.example.com' })).toMatchObject({ MODEL_GATEWAY_PORT: 8790 });
    expect(loadWorkerEnv({ ...daytona, ALLOW_MODEL_KEY_IN_SANDBOX: 'true' }).ALLOW_MODEL_KEY_IN_SANDBOX).toBe(true);
  });

  it('names every problem in one line', () => {
    const { message } = configError({ WORKER_CONCURRENCY: '0' });
    for (const variable of ['GITHUB_TOKEN', 'ANTHROPIC_API_KEY', 'WORKER_CONCURRENCY']) expect(message).toContain(variable);
    expect(message).not.toMatch(/\n/);
  });

  it('never echoes a value it refuses', () => {
    const { message } = configError({ ...REQUIRED, GITHUB_API_URL: 'ghp_leaked_token_value' });
    expect(message).toMatch(/GITHUB_API_URL/);
    expect(message).not.toContain('ghp_leaked_token_value');
  });
});
