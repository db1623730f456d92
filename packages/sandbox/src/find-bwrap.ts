import { fallbackSearchPath, findExecutable } from './find-executable.js';

/** `which bwrap`: the first executable `bwrap` on the search path, or undefined. */
export function findBwrap(searchPath: string = fallbackSearchPath): string | undefined {
  return findExecutable('bwrap', searchPath);
}
