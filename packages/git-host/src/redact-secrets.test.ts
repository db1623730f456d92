import { redactSecrets } from './redact-secrets.js';

describe('redactSecrets', () => {
  const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

  it('removes the token in plain, Basic and URL-encoded forms', () => {
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const text = `a ${token} b Authorization: Basic ${basic} c ${encodeURIComponent(token)}`;
    const out = redactSecrets(text, [token]);
    expect(out).not.toContain(token);
    expect(out).not.toContain(basic);
  });

  it('catches credentials it was not told about', () => {
    const out = redactSecrets('fetch https://user:s3cr3t-pass@github.com/o/r.git with token gho_OTHERtoken123 and Bearer abcdefghijklmnopqrstuvwxyz', []);
    expect(out).not.toContain('s3cr3t-pass');
    expect(out).not.toContain('gho_OTHERtoken123');
    expect(out).not.toContain('abcdefghijklmnopqrstuvwxyz');
    expect(out).toContain('https://[REDACTED]@github.com/o/r.git');
  });

  it('catches GitHub App installation tokens, app JWTs and private keys it was not told about', () => {
    const installationToken = 'ghs_16C7e42F292c6912E7710c838347Ae178B4a';
    const jwt = 'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDYwMCwiaXNzIjoiNDIifQ.c2lnbmF0dXJlLWJ5dGVzLWdvLWhlcmU_-x';
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretkeymaterial\nmoresecret==\n-----END RSA PRIVATE KEY-----';
    const escaped = pem.split('\n').join('\\n');
    const out = redactSecrets(`token ${installationToken}; jwt ${jwt}; key ${pem}; env key ${escaped}; cut ${pem.slice(0, 50)}`, []);
    expect(out).not.toContain(installationToken);
    expect(out).not.toContain('ghs_');
    expect(out).not.toContain(jwt.split('.')[1]);
    expect(out).not.toContain('secretkeymaterial');
    expect(out).not.toContain('MIIEowIBAAKCAQEA');
    expect(out).toContain('[REDACTED PRIVATE KEY]');
  });

  it('removes an installation token it was given, in its Basic form too', () => {
    const installationToken = 'ghs_0123456789abcdef0123456789abcdef0123';
    const basic = Buffer.from(`x-access-token:${installationToken}`).toString('base64');
    const out = redactSecrets(`fatal: could not push with ${basic} (${installationToken})`, [installationToken]);
    expect(out).not.toContain(installationToken);
    expect(out).not.toContain(basic);
  });

  it('leaves ordinary prose alone', () => {
    const text = 'fatal: could not read Username: terminal prompts disabled; token required for this repository';
    expect(redactSecrets(text, [token])).toBe(text);
  });
});
