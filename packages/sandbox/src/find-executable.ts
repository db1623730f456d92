import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export const fallbackSearchPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * `which <name>`: the first executable regular file called `name` on the search path, or undefined. The search
 * path is a parameter so the composition root decides which environment it comes from.
 */
export function findExecutable(name: string, searchPath: string = fallbackSearchPath): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue; // a relative PATH entry depends on the cwd: never trust it for a jail
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}
