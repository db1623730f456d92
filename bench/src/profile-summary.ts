import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * `tsx src/profile-summary.ts <file.cpuprofile> [top]`: the functions with the most self time in a V8 CPU profile
 * (what `node --cpu-prof` writes; `BENCH_CPU_PROF=<dir> pnpm bench --only enqueue` makes one of the API), as a
 * Markdown table, plus the share of time by package (node_modules name, or node internals / our sources), which is
 * what a flame graph shows at a glance.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export function summarizeProfile(profile: CpuProfile, top = 15): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i] ?? 0)));
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, number>();
  const packages = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) continue;
    const where = frame.url === '' ? '' : `${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
    const pkg = packageOf(frame.url, frame.functionName);
    packages.set(pkg, (packages.get(pkg) ?? 0) + us);
  }
  const pct = (us: number) => ((100 * us) / totalUs).toFixed(1);
  const rows = [...functions].sort((a, b) => b[1] - a[1]).slice(0, top);
  const pkgRows = [...packages].sort((a, b) => b[1] - a[1]).slice(0, 10);
  // Inclusive time of the frames of the request path (ours and the libraries it goes through), counted once per
  // stack: where a POST's CPU goes, which self time alone spreads too thin to see.
  const inclusive = new Map<string, number>();
  const walk = (id: number, onStack: Set<string>): number => {
    const node = byId.get(id);
    if (node === undefined) return 0;
    const frame = node.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}`;
    const fresh = !onStack.has(name) && INTERESTING.test(frame.url) && frame.functionName !== '';
    if (fresh) onStack.add(name);
    let total = selfUs.get(id) ?? 0;
    for (const child of node.children ?? []) total += walk(child, onStack);
    if (fresh) {
      onStack.delete(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + total);
    }
    return total;
  };
  const root = profile.nodes[0];
  if (root !== undefined) walk(root.id, new Set());
  const inclusiveRows = [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `Sampled ${(totalUs / 1e6).toFixed(1)} s.`,
    '',
    '| self % | function |',
    '|---:|---|',
    ...rows.map(([name, us]) => `| ${pct(us)} | \`${name}\` |`),
    '',
    '| self % | where |',
    '|---:|---|',
    ...pkgRows.map(([name, us]) => `| ${pct(us)} | ${name} |`),
    '',
    '| total % | function (request path, inclusive) |',
    '|---:|---|',
    ...inclusiveRows.map(([name, us]) => `| ${pct(us)} | \`${name}\` |`),
    '',
  ].join('\n');
}

const INTERESTING = /\/(packages|apps)\/|node_modules\/(\.pnpm\/[^/]+\/node_modules\/)?(express|router|body-parser|zod|ioredis|bullmq|raw-body|@opentelemetry)\//;

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '');
  const at = url.indexOf('/packages/') >= 0 ? url.indexOf('/packages/') : url.indexOf('/apps/');
  return at >= 0 ? url.slice(at + 1) : path.basename(url);
}

function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const ours = /\/(packages|apps)\/([^/]+)\//.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const [file, top = '15', ...rest] = process.argv.slice(2);
  // A shell glob over an API run's profiles (the main thread's and tsx's loader thread's) would pass a second
  // file as `top` and print empty tables: refuse it instead.
  if (file === undefined || rest.length > 0 || !/^\d+$/.test(top)) throw new Error('usage: profile-summary <file.cpuprofile> [top]');
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  process.stdout.write(summarizeProfile(profile, Number(top)));
}
