/**
 * Joins several Prometheus text expositions that share metric families (BullMQ exports the same families for
 * each queue) into one, where each family's HELP and TYPE appear once, followed by every sample of it: the
 * format allows a family only once per scrape.
 */
export function mergePrometheusFamilies(expositions: readonly string[]): string {
  const families = new Map<string, { header: string[]; samples: string[] }>();
  const familyOf = (name: string) => {
    let family = families.get(name);
    if (family === undefined) {
      family = { header: [], samples: [] };
      families.set(name, family);
    }
    return family;
  };
  for (const text of expositions) {
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      const comment = /^#\s+(HELP|TYPE)\s+(\S+)/.exec(trimmed);
      if (comment) {
        const family = familyOf(comment[2]!);
        if (!family.header.some((h) => h.startsWith(`# ${comment[1]} `))) family.header.push(trimmed);
        continue;
      }
      if (trimmed.startsWith('#')) continue;
      const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(trimmed)?.[0];
      if (name !== undefined) familyOf(name).samples.push(trimmed);
    }
  }
  return [...families.values()].flatMap((f) => [...f.header, ...f.samples]).join('\n');
}
