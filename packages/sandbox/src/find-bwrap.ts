import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

const fallbackSearchPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * `which bwrap`: the first executable `bwrap` on the search path, or undefined. The search path is a
 * parameter so the composition root decides which environment it comes from.
 */
export function findBwrap(searchPath: string = fallbackSearchPath): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue; // a relative PATH entry depends on the cwd: never trust it for a jail
    const candidate = path.join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
