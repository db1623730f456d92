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

/**
 * Memoizes `load` per key for `ttlMs`, for lookups that thousands of requests make at once (a connect storm
 * on one job): concurrent and recent calls share one lookup. Only values `keep` accepts are kept past their
 * lookup (so a job not found now is looked up again next time), and failures never are. At most `maxKeys`
 * are kept: past that the cache starts over, which costs one lookup per key.
 */
export function cachedByKeyFor<T>(ttlMs: number, load: (key: string) => Promise<T>, opts: { keep: (value: T) => boolean; maxKeys?: number }): (key: string) => Promise<T> {
  const maxKeys = opts.maxKeys ?? 10_000;
  const cache = new Map<string, { value: Promise<T>; until: number }>();
  return (key) => {
    const now = Date.now();
    const hit = cache.get(key);
    if (hit !== undefined && hit.until > now) return hit.value;
    if (cache.size >= maxKeys) cache.clear();
    const value = load(key);
    const entry = { value, until: now + ttlMs };
    cache.set(key, entry);
    const forget = () => {
      if (cache.get(key) === entry) cache.delete(key);
    };
    value.then((v) => {
      if (!opts.keep(v)) forget();
    }, forget);
    return value;
  };
}
