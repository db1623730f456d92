import { Redactor } from '@tinyb/core';
import { registerEnvSecrets, SECRET_ENV_VARS } from './register-env-secrets.js';

describe('registerEnvSecrets', () => {
  it('registers every credential setting present, and the Redis password, and nothing else', () => {
    const redactor = new Redactor();
    const env = Object.fromEntries(SECRET_ENV_VARS.map((name, i) => [name, `value-of-${name}-${i}`]));
    registerEnvSecrets(redactor, { ...env, REDIS_URL: 'redis://:s3cret%2Fpassword@redis:6379', REDIS_PREFIX: 'tinyb-prefix', PORT: 8080 });

    for (const [name, value] of Object.entries(env)) expect(redactor.redact(`${name}=${value}`)).toBe(`${name}=[REDACTED:secret]`);
    expect(redactor.redact('pw s3cret/password')).toBe('pw [REDACTED:secret]');
    expect(redactor.redact('prefix tinyb-prefix')).toBe('prefix tinyb-prefix');
  });

  it('skips settings that are absent, and a Redis URL without a password', () => {
    const redactor = new Redactor();
    registerEnvSecrets(redactor, { GITHUB_TOKEN: undefined, REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(redactor.redact('redis://127.0.0.1:6379 undefined')).toBe('redis://127.0.0.1:6379 undefined');
  });
});
