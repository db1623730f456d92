import { hashApiKey, parseApiKeys } from './api-keys.js';
import { Authenticator } from './authenticator.js';

const keys = { alice: 'alice-key-0123456789', bob: 'bob-key-0123456789' };
const apiKeys = parseApiKeys(`alice:${hashApiKey(keys.alice)},bob:${hashApiKey(keys.bob)}`);
const adminToken = 'the-admin-token-0123456789';

describe('Authenticator', () => {
  it('resolves each tenant key to its tenant, and the admin token to admin', () => {
    const auth = new Authenticator({ adminToken, apiKeys });
    expect(auth.open).toBe(false);
    expect(auth.authenticate(keys.alice)).toEqual({ tenant: 'alice', admin: false });
    expect(auth.authenticate(keys.bob)).toEqual({ tenant: 'bob', admin: false });
    expect(auth.authenticate(adminToken)).toEqual({ tenant: 'admin', admin: true });
  });

  it('refuses a missing, empty or unknown key', () => {
    const auth = new Authenticator({ adminToken, apiKeys });
    expect(auth.authenticate(undefined)).toBeNull();
    expect(auth.authenticate('')).toBeNull();
    expect(auth.authenticate('nobody')).toBeNull();
    // A configured hash presented as a key is not the key.
    expect(auth.authenticate(hashApiKey(keys.alice))).toBeNull();
  });

  it('never matches a key that is a prefix or suffix of another, nor one whose hash shares a prefix', () => {
    const auth = new Authenticator({ apiKeys });
    for (const near of [keys.alice.slice(0, -1), keys.alice.slice(1), `${keys.alice}x`, `x${keys.alice}`, keys.alice.toUpperCase()]) {
      expect(auth.authenticate(near)).toBeNull();
    }
    // Find a key whose hash shares its first byte with alice's: a comparison that stopped early would pass it.
    const aliceHash = hashApiKey(keys.alice);
    let sharing = '';
    for (let i = 0; !sharing; i++) if (hashApiKey(`probe-${i}`).slice(0, 2) === aliceHash.slice(0, 2)) sharing = `probe-${i}`;
    expect(auth.authenticate(sharing)).toBeNull();
  });

  it('with API_TOKEN alone, only the admin token passes', () => {
    const auth = new Authenticator({ adminToken });
    expect(auth.authenticate(adminToken)).toEqual({ tenant: 'admin', admin: true });
    expect(auth.authenticate(keys.alice)).toBeNull();
  });

  it('with API_KEYS alone, there is no admin key', () => {
    const auth = new Authenticator({ apiKeys });
    expect(auth.authenticate(keys.alice)).toEqual({ tenant: 'alice', admin: false });
    expect(auth.authenticate(adminToken)).toBeNull();
  });

  it('with nothing configured, is open and everyone is admin', () => {
    const auth = new Authenticator({ apiKeys: [] });
    expect(auth.open).toBe(true);
    expect(auth.authenticate(undefined)).toEqual({ tenant: 'anonymous', admin: true });
    expect(auth.authenticate('anything')).toEqual({ tenant: 'anonymous', admin: true });
  });
});
