import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadGitHubAppPrivateKey } from './load-github-app-private-key.js';

describe('loadGitHubAppPrivateKey', () => {
  // GitHub hands out PKCS#1 ("BEGIN RSA PRIVATE KEY"); the loader must also take PKCS#8.
  const { privateKey: pkcs1, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyBody = pkcs1.split('\n')[5] ?? '';
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyb-app-key-'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  /** The loaded key signs what the original public key verifies: the same key came through. */
  const expectSameKey = (loaded: string): void => {
    expect(loaded).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const data = Buffer.from('tiny backspace');
    expect(verify('sha256', data, createPublicKey(publicKey), sign('sha256', data, loaded))).toBe(true);
  };

  /** Whatever goes wrong, the message names the setting and never quotes the value. */
  const expectClearFailure = async (value: string, pattern: RegExp): Promise<void> => {
    const err: unknown = await loadGitHubAppPrivateKey(value).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toMatch(/^GITHUB_APP_PRIVATE_KEY /);
    expect(message).toMatch(pattern);
    expect(message).not.toContain(keyBody);
    if (value.length >= 8) expect(message).not.toContain(value.trim().slice(0, 40));
  };

  it('accepts PEM text, PKCS#1 or PKCS#8, with surrounding whitespace or quotes', async () => {
    expectSameKey(await loadGitHubAppPrivateKey(pkcs1));
    expectSameKey(await loadGitHubAppPrivateKey(`\n  "${pkcs1}"  \n`));
    const pkcs8 = createPrivateKey(pkcs1).export({ type: 'pkcs8', format: 'pem' }).toString();
    expectSameKey(await loadGitHubAppPrivateKey(pkcs8));
  });

  it('accepts a PEM whose line breaks an env file turned into literal \\n, CRLF or spaces', async () => {
    expectSameKey(await loadGitHubAppPrivateKey(pkcs1.trim().split('\n').join('\\n')));
    expectSameKey(await loadGitHubAppPrivateKey(pkcs1.split('\n').join('\r\n')));
    expectSameKey(await loadGitHubAppPrivateKey(pkcs1.trim().split('\n').join(' ')));
    expectSameKey(await loadGitHubAppPrivateKey(Buffer.from(pkcs1).toString('base64')));
  });

  it('reads the key from a file path', async () => {
    const file = path.join(tmp, 'app.private-key.pem');
    await writeFile(file, pkcs1, { mode: 0o600 });
    expectSameKey(await loadGitHubAppPrivateKey(file));
    expectSameKey(await loadGitHubAppPrivateKey(` ${file}\n`));
  });

  it('fails clearly, without echoing the value, on garbage', async () => {
    await expectClearFailure('', /is empty/);
    await expectClearFailure('   ', /is empty/);
    await expectClearFailure('not-a-key-at-all-but-quite-secret', /neither PEM text nor the path of a readable file \(reading it as a path failed with ENOENT\)/);
    await expectClearFailure(path.join(tmp, 'missing.pem'), /ENOENT/);
    await expectClearFailure(pkcs1.slice(0, 200), /truncated PEM block/);
    await expectClearFailure(pkcs1.replace(keyBody, `${keyBody.slice(0, 10)}!!!!${keyBody.slice(14)}`).replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n'), /not a readable PEM private key/);
    await expectClearFailure(publicKey, /holds a PUBLIC KEY, not a private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    await expectClearFailure(ec.privateKey, /is a ec key; GitHub App keys are RSA/);
    const encrypted = generateKeyPairSync('rsa', {
      modulusLength: 1024,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pass' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    await expectClearFailure(encrypted.privateKey, /passphrase-protected/);

    const notPem = path.join(tmp, 'notes.txt');
    await writeFile(notPem, 'hello\n');
    await expectClearFailure(notPem, /names a file that holds no PEM block/);
    const unreadable = path.join(tmp, 'unreadable.pem');
    await writeFile(unreadable, pkcs1);
    await chmod(unreadable, 0o000);
    // root reads anything; the test only checks that whatever happens is clear.
    const outcome = await loadGitHubAppPrivateKey(unreadable).then(
      () => 'loaded',
      (e: unknown) => (e as Error).message,
    );
    expect(outcome === 'loaded' || /EACCES/.test(outcome)).toBe(true);
  });

  it('names another setting when told to', async () => {
    await expect(loadGitHubAppPrivateKey('', 'MY_KEY')).rejects.toThrow(/^MY_KEY is empty/);
  });
});
