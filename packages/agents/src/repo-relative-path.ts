/**
 * Paths inside the checkout as the repository names them (`src/app.ts`), whatever directory the sandbox
 * put the checkout in; paths elsewhere are left as they are.
 */
export function repoRelativePath(path: string, workdir: string | undefined): string {
  if (!workdir) return path;
  const root = workdir.replace(/\/+$/, '');
  if (path === root) return '.';
  return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
}
