import { createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

/**
 * Reads a GitHub App's private key from a setting that holds either the PEM text or the path of a PEM
 * file. Accepts what env files and secret stores do to PEMs: literal `\n` escapes, CRLF, surrounding
 * quotes, line breaks flattened to spaces, and a base64-encoded PEM. Returns the key as PKCS#8 PEM
 * (GitHub hands out PKCS#1; both sign the same). Fails with a message that says what is wrong without
 * ever quoting the value, since the value may be the key itself.
 */
export async function loadGitHubAppPrivateKey(valueOrPath: string, settingName = 'GITHUB_APP_PRIVATE_KEY'): Promise<string> {
  const fail = (why: string): Error => new Error(`${settingName} ${why} (the value is not shown)`);
  const value = stripQuotes(valueOrPath.trim());
  if (value === '') throw fail('is empty: set it to the PEM text of the GitHub App private key or the path of its .pem file');

  let pemText: string;
  if (value.includes('-----BEGIN')) {
    pemText = value;
  } else {
    const fromFile = await readKeyFile(value);
    if (fromFile.ok) {
      if (!fromFile.text.includes('-----BEGIN')) throw fail('names a file that holds no PEM block (expected "-----BEGIN RSA PRIVATE KEY-----")');
      pemText = fromFile.text;
    } else {
      const decoded = decodeBase64Pem(value);
      if (decoded === undefined) {
        throw fail(`is neither PEM text nor the path of a readable file (${fromFile.reason}); set it to the key's PEM text or the path of its .pem file`);
      }
      pemText = decoded;
    }
  }

  const block = PEM_BLOCK.exec(pemText.replace(/\\r/g, '').replace(/\\n/g, '\n'));
  if (block === null) throw fail('holds a truncated PEM block: its -----END ...----- line is missing');
  const label = block[1] ?? '';
  if (!label.endsWith('PRIVATE KEY')) throw fail(`holds a ${label}, not a private key: use the private key downloaded from the GitHub App's settings`);
  if (label.startsWith('ENCRYPTED') || /Proc-Type:\s*4,ENCRYPTED/.test(block[2] ?? '')) {
    throw fail('holds a passphrase-protected key: GitHub App keys are used unencrypted; export it without a passphrase');
  }
  // Rebuild the block from its base64 body alone: whatever happened to the line breaks, the key survives.
  const body = (block[2] ?? '').replace(/[^A-Za-z0-9+/=]/g, '');
  const normalised = `-----BEGIN ${label}-----\n${(body.match(/.{1,64}/g) ?? []).join('\n')}\n-----END ${label}-----\n`;

  let key: ReturnType<typeof createPrivateKey>;
  try {
    key = createPrivateKey(normalised);
  } catch {
    throw fail('is not a readable PEM private key: it may be truncated or damaged');
  }
  if (key.asymmetricKeyType !== 'rsa') throw fail(`is a ${String(key.asymmetricKeyType)} key; GitHub App keys are RSA`);
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function stripQuotes(text: string): string {
  const first = text[0];
  return text.length >= 2 && (first === '"' || first === "'") && text.endsWith(first) ? text.slice(1, -1).trim() : text;
}

async function readKeyFile(candidate: string): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  // A path is one line of modest length; anything else is not worth a file system call.
  if (candidate.length > 4096 || /[\n\0]/.test(candidate)) return { ok: false, reason: 'not a path' };
  try {
    return { ok: true, text: await readFile(candidate, 'utf8') };
  } catch (err) {
    // Not `instanceof Error`: fs errors may come from another realm (jest's vm contexts).
    const code: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
    return { ok: false, reason: typeof code === 'string' ? `reading it as a path failed with ${code}` : 'reading it as a path failed' };
  }
}

function decodeBase64Pem(text: string): string | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return undefined;
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  return decoded.includes('-----BEGIN') ? decoded : undefined;
}
