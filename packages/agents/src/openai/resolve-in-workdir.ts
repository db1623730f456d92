import path from 'node:path';

/**
 * A tool's `path` argument as an absolute sandbox path inside `workdir`, or a refusal the model can read.
 * Relative paths are taken from the checkout's root; absolute ones are accepted only when they already lie
 * inside it. The check is lexical: the sandbox itself refuses symlinks that lead out of the workspace, and a
 * command run by `run_command` can reach anything in the sandbox anyway, so this guards against mistakes and
 * keeps every file tool about the repository, not against a hostile model.
 */
export function resolveInWorkdir(workdir: string, requested: string | undefined): { ok: true; path: string } | { ok: false; error: string } {
  const root = path.posix.normalize(workdir).replace(/\/+$/, '') || '/';
  const raw = (requested ?? '.').trim();
  if (raw === '') return { ok: false, error: 'path is empty' };
  if (raw.includes('\0')) return { ok: false, error: 'path contains a NUL byte' };
  const resolved = path.posix.resolve(root, raw);
  if (resolved !== root && !resolved.startsWith(`${root}/`)) {
    return { ok: false, error: `path ${raw} is outside the repository; use a path relative to the repository root` };
  }
  return { ok: true, path: resolved };
}
