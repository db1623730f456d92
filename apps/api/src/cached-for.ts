/** Memoizes `load` for `ttlMs`, so a burst of requests costs one lookup; a failed lookup is not cached. */
export function cachedFor<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let cached: { value: Promise<T>; until: number } | undefined;
  return () => {
    const now = Date.now();
    if (cached && cached.until > now) return cached.value;
    const value = load();
    cached = { value, until: now + ttlMs };
    value.catch(() => {
      cached = undefined;
    });
    return value;
  };
}
