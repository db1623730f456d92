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

  it('leaves ordinary prose alone', () => {
    const text = 'fatal: could not read Username: terminal prompts disabled; token required for this repository';
    expect(redactSecrets(text, [token])).toBe(text);
  });
});
