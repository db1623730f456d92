import { ApiKeysError, hashApiKey, parseApiKeys } from './api-keys.js';

const ALICE = hashApiKey('alice-secret-key');
const BOB = hashApiKey('bob-secret-key');

describe('hashApiKey', () => {
  it('is the SHA-256 hex of the key, as `printf %s "$KEY" | sha256sum` prints it', () => {
    expect(hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('parseApiKeys', () => {
  it('reads tenant:hash entries, tolerating spaces and upper-case hex', () => {
    const entries = parseApiKeys(` alice:${ALICE} , bob : ${BOB.toUpperCase()} `);
    expect(entries.map((e) => [e.tenant, e.keyHash.toString('hex')])).toEqual([
      ['alice', ALICE],
      ['bob', BOB],
    ]);
  });

  it('reads an empty value as no tenants', () => {
    expect(parseApiKeys('')).toEqual([]);
    expect(parseApiKeys('   ')).toEqual([]);
  });

  it.each([
    ['a missing colon', `alice${ALICE}`, /entry 1 must look like <tenant>:<sha256/],
    ['an empty tenant', `:${ALICE}`, /entry 1 has an empty tenant name/],
    ['an upper-case tenant', `Alice:${ALICE}`, /tenant 'Alice' must be/],
    ['a tenant with a colon-free bad char', `al ice:${ALICE}`, /tenant 'al ice' must be/],
    ['a tenant starting with -', `-alice:${ALICE}`, /must be 1-63/],
    ['a too-long tenant', `${'a'.repeat(64)}:${ALICE}`, /must be 1-63/],
    ['a reserved tenant', `admin:${ALICE}`, /'admin' is reserved/],
    ['a short hash', `alice:${ALICE.slice(1)}`, /64 hex characters/],
    ['a non-hex hash', `alice:${'g'.repeat(64)}`, /64 hex characters/],
    ['a key instead of its hash', 'alice:my-plain-key', /SHA-256 of the key/],
    ['a duplicate tenant', `alice:${ALICE},alice:${BOB}`, /entry 2: tenant 'alice' is configured twice/],
    ['one hash for two tenants', `alice:${ALICE},bob:${ALICE}`, /entry 2 \(tenant 'bob'\): the same key hash/],
    ['a stray comma', `alice:${ALICE},,bob:${BOB}`, /entry 2 is empty/],
  ])('refuses %s with a clear message', (_what, spec, message) => {
    const thrown = (() => {
      try {
        parseApiKeys(spec);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(ApiKeysError);
    expect((thrown as Error).message).toMatch(message);
    // The message names the entry, never the configured hash.
    expect((thrown as Error).message).not.toContain(ALICE);
  });
});
