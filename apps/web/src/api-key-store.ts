const STORAGE_KEY = 'tinyb.apiKey';

/**
 * The API key, entered once and kept in this browser's localStorage (the console is served by the API it
 * talks to, so the key never leaves that origin). It is only ever sent as `Authorization: Bearer`.
 */
export const apiKeyStore = {
  load(): string | undefined {
    try {
      return localStorage.getItem(STORAGE_KEY) ?? undefined;
    } catch {
      return undefined; // storage disabled: the key lives as long as the page
    }
  },
  save(key: string | undefined): void {
    try {
      if (key) localStorage.setItem(STORAGE_KEY, key);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage disabled: nothing to keep
    }
  },
};
