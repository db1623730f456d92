import { Redactor } from './redactor.js';

// Canaries are assembled at run time so no scanner mistakes this file for a leak.
const body = (n: number) => 'Zq81xv0Lm3Pk7Rt2'.repeat(Math.ceil(n / 16)).slice(0, n);
const pemBody = Array.from({ length: 4 }, (_, i) => `${body(60)}${String(i).padStart(4, '0')}`).join('\n');
const SHAPED: Record<string, string> = {
  'github classic': `ghp_${body(36)}`,
  'github oauth': `gho_${body(36)}`,
  'github user-to-server': `ghu_${body(36)}`,
  'github installation': `ghs_${body(36)}`,
  'github refresh': `ghr_${body(36)}`,
  'github fine-grained': `github_pat_11ABCDEFG_${body(59)}`,
  anthropic: `sk-ant-api03-${body(40)}-${body(20)}AA`,
  'openai legacy': `sk-${body(48)}`,
  'openai project': `sk-proj-${body(40)}_${body(30)}`,
  google: `AIza${body(35)}`,
  'slack bot': `xoxb-123456789012-${body(24)}`,
  'slack app': `xoxa-2-${body(30)}`,
  'slack user': `xoxp-1234-5678-${body(20)}`,
  aws: 'AKIA' + 'IOSFODNN7EXAMPL3',
  jwt: `eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjM0NSJ9.${body(43)}`,
  'pem rsa': `-----BEGIN RSA PRIVATE KEY-----\n${pemBody}\n-----END RSA PRIVATE KEY-----`,
  'pem pkcs8': `-----BEGIN PRIVATE KEY-----\n${pemBody}\n-----END PRIVATE KEY-----`,
  'pem openssh': `-----BEGIN OPENSSH PRIVATE KEY-----\n${pemBody}\n-----END OPENSSH PRIVATE KEY-----`,
};

/** The secret, or any 12-character piece of it, must be gone. */
function expectGone(text: string, secret: string): void {
  expect(text).not.toContain(secret);
  for (const line of secret.split('\n')) {
    for (let i = 0; i + 12 <= line.length; i += 6) {
      const piece = line.slice(i, i + 12);
      if (piece.startsWith('-----')) continue; // BEGIN/END lines are public
      if (/^(ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|sk-ant-|sk-proj-|AIza|xox.-|eyJ)/.test(piece)) continue;
      expect(text).not.toContain(piece);
    }
  }
}

describe('Redactor', () => {
  describe('well-known token shapes, never registered', () => {
    const redactor = new Redactor();
    it.each(Object.entries(SHAPED))('%s', (_kind, secret) => {
      const texts = [
        secret,
        `export TOKEN=${secret}`,
        `{"key":"${secret}","n":1}`,
        `curl -H 'X-Key: ${secret}' https://example.com`,
        `(${secret}).`,
      ];
      for (const text of texts) {
        const out = redactor.redact(text);
        expectGone(out, secret);
        expect(out).toMatch(/\[REDACTED:[a-z]+\]/);
      }
    });

    it('names the kind and keeps the text around it', () => {
      expect(redactor.redact(`token=${SHAPED['github classic']} done`)).toBe('token=[REDACTED:github] done');
      expect(redactor.redact(`key: ${SHAPED.anthropic}\n`)).toBe('key: [REDACTED:anthropic]\n');
      expect(redactor.redact(`a\n${SHAPED['pem rsa']}\nb`)).toBe('a\n[REDACTED:pem]\nb');
    });

    it('redacts a PEM key inside a serialized JSON string, and a truncated one, keeping the JSON valid', () => {
      const line = JSON.stringify({ msg: 'oops', key: SHAPED['pem pkcs8'], after: 'kept' });
      const out = redactor.redact(line);
      expect(JSON.parse(out)).toEqual({ msg: 'oops', key: '[REDACTED:pem]', after: 'kept' });
      const truncated = `-----BEGIN PRIVATE KEY-----\n${pemBody.slice(0, 100)}`;
      expectGone(redactor.redact(JSON.stringify({ key: truncated, after: 'kept' })), pemBody.slice(0, 100));
      expect(JSON.parse(redactor.redact(JSON.stringify({ key: truncated, after: 'kept' })))).toMatchObject({ after: 'kept' });
    });

    it('redacts the value of an Authorization header, whatever its scheme and case', () => {
      const value = body(32);
      for (const header of [
        `Authorization: Bearer ${value}`,
        `authorization: token ${value}`,
        `AUTHORIZATION: Basic ${value}==`,
        `Authorization: ${value}`,
        `"authorization":"Bearer ${value}"`,
        `-H "Authorization: Bearer ${value}"`,
      ]) {
        const out = redactor.redact(header);
        expect(out).not.toContain(value.slice(0, 12));
        expect(out).toMatch(/authorization/i);
      }
      expect(redactor.redact(`Authorization: Bearer ${value}`)).toBe('Authorization: Bearer [REDACTED:authorization]');
      expect(redactor.redact(`sent with bearer ${value}`)).toBe('sent with bearer [REDACTED:bearer]');
    });

    it('redacts the userinfo of a URL, keeping scheme and host', () => {
      expect(redactor.redact('git clone https://x-access-token:abc123def456@github.com/acme/app.git')).toBe(
        'git clone https://[REDACTED:userinfo]@github.com/acme/app.git',
      );
    });
  });

  describe('registered exact values', () => {
    const secret = 'canary-Vv7pQ2mZ9rT4wX1y';
    const redactor = new Redactor();
    redactor.add(secret);

    it('redacts them wherever they are embedded', () => {
      for (const text of [
        secret,
        `ANTHROPIC_API_KEY=${secret}`,
        `prefix${secret}suffix`,
        JSON.stringify({ env: { KEY: secret } }),
        `https://api.example.com/v1?key=${secret}&x=1`,
        `https://user:${secret}@example.com/`,
        `line one\n  ${secret}\nline three`,
        `${secret}${secret}`,
      ]) {
        const out = redactor.redact(text);
        expect(out).not.toContain(secret);
        expect(out).toContain('[REDACTED:');
      }
      expect(redactor.redact(`KEY=${secret}\n`)).toBe('KEY=[REDACTED:secret]\n');
    });

    it('redacts the forms they leak in: git Basic auth, base64, URL-encoded, JSON-escaped', () => {
      const odd = 'p@ss/w"rd+Q9z\\k&=';
      redactor.add(odd);
      const gitBasic = Buffer.from(`x-access-token:${secret}`).toString('base64');
      expect(redactor.redact(`Authorization: Basic ${gitBasic}`)).not.toContain(gitBasic.slice(0, 20));
      expect(redactor.redact(`GIT_TRACE: ${gitBasic}`)).not.toContain(gitBasic.slice(0, 20));
      expect(redactor.redact(`b64=${Buffer.from(secret).toString('base64')}`)).toBe('b64=[REDACTED:secret]');
      expect(redactor.redact(`https://h/?k=${encodeURIComponent(odd)}`)).toBe('https://h/?k=[REDACTED:secret]');
      expect(redactor.redact(JSON.stringify({ k: odd }))).toBe('{"k":"[REDACTED:secret]"}');
    });

    it('redacts a multi-line secret whole, and each of its lines alone', () => {
      const pem = SHAPED['pem rsa']!;
      const r = new Redactor();
      r.add(pem);
      expect(r.redact(`key:\n${pem}\n`)).toBe('key:\n[REDACTED:secret]\n');
      const secondLine = pem.split('\n')[2]!;
      expect(r.redact(`partial: ${secondLine}`)).toBe('partial: [REDACTED:secret]');
    });

    it('replaces the longest secret when one contains another', () => {
      const r = new Redactor();
      r.add('abcdefgh12');
      r.add('abcdefgh12345678');
      expect(r.redact('x abcdefgh12345678 y')).toBe('x [REDACTED:secret] y');
    });

    it('ignores empty and short values, and values with regex syntax are matched literally', () => {
      const r = new Redactor();
      r.add('');
      r.add(undefined);
      r.add('short');
      expect(r.redact('a short story')).toBe('a short story');
      r.add('a.b*c+d?(e)[f]');
      expect(r.redact('x a.b*c+d?(e)[f] y')).toBe('x [REDACTED:secret] y');
      expect(r.redact('x aXbbbc+d?(e)[f] y')).toBe('x aXbbbc+d?(e)[f] y');
    });
  });

  describe('ordinary text is left alone', () => {
    const redactor = new Redactor();
    redactor.add('canary-Vv7pQ2mZ9rT4wX1y');
    const ordinary = [
      'const task = await fetchTask(taskId); // sk-learn style names are fine',
      'The skeleton key-value store uses a sk-tree-based-index-for-lookups internally.',
      'commit 3f786850e387550fdab836ed7e6dc881de23001b',
      'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'job 550e8400-e29b-41d4-a716-446655440000 queued',
      `payload ${Buffer.from('hello world, this is ordinary data that happens to be base64 encoded').toString('base64')}`,
      'Authorization is required for this endpoint.',
      'Use a bearer token in the header.',
      'ghp_ is the prefix of classic GitHub tokens; AKIA starts AWS key ids.',
      'https://github.com/acme/app/pull/12 and git@github.com:acme/app.git',
      'email someone@example.com, time 12:30:45',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----',
      'function redact(text: string): string { return text.replace(/x/g, "y"); }',
      'diff --git a/README.md b/README.md\n+Status: edited by the fake model',
    ];
    it.each(ordinary)('%s', (text) => {
      expect(redactor.redact(text)).toBe(text);
    });
  });

  describe('redactValue', () => {
    const secret = 'canary-Vv7pQ2mZ9rT4wX1y';
    const redactor = new Redactor();
    redactor.add(secret);

    it('redacts every string of a nested value, keys included, without changing the input', () => {
      const event = {
        type: 'agent.tool_result',
        ok: true,
        count: 3,
        output: `ANTHROPIC_API_KEY=${secret}\nGITHUB=${SHAPED['github installation']}`,
        nested: { list: ['fine', `Bearer ${body(20)}`, { deep: [secret] }], nothing: null, missing: undefined },
        [secret]: 'as a key',
      };
      const snapshot = JSON.stringify(event);
      const out = redactor.redactValue(event);
      const text = JSON.stringify(out);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(SHAPED['github installation']);
      expect(text).not.toContain(body(20));
      expect(out).toMatchObject({ type: 'agent.tool_result', ok: true, count: 3, nested: { list: ['fine', 'Bearer [REDACTED:bearer]', { deep: ['[REDACTED:secret]'] }], nothing: null } });
      expect(out).toHaveProperty(['[REDACTED:secret]'], 'as a key');
      expect(JSON.stringify(event)).toBe(snapshot);
    });

    it('returns the very same value when there is nothing to redact', () => {
      const event = { type: 'agent.message', text: 'hello', list: [1, 'two', { three: 3 }] };
      expect(redactor.redactValue(event)).toBe(event);
      expect(redactor.redactValue('plain')).toBe('plain');
      expect(redactor.redactValue(42)).toBe(42);
      expect(redactor.redactValue(null)).toBeNull();
    });
  });
});
