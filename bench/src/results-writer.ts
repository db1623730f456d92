import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fanoutLatencyChart, type FanoutPoint } from './fanout-chart.js';

/**
 * The files a run leaves in `bench/results/`: `latest.json` (the whole report), `latest.md` (the figures people
 * read, as tables) and `fanout-latency.svg` (latency against clients per fan-out system). Each file is written
 * to a temporary name and renamed, so a reader never sees half a file. Sections a run did not produce (`--only`,
 * or a section that failed) are left out of the Markdown, never invented.
 */
export async function writeResults(report: Record<string, unknown>, dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const put = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(`${path}.tmp`, text);
    await rename(`${path}.tmp`, path);
    written.push(path);
  };
  await put('latest.json', `${JSON.stringify(report, null, 2)}\n`);
  const fanout = fanoutRows(report['fanout']);
  const chart = fanoutLatencyChart(fanout, `SSE fan-out: delivery latency vs clients (${dateOf(report)})`);
  if (chart !== undefined) await put('fanout-latency.svg', chart);
  await put('latest.md', resultsMarkdown(report, chart === undefined ? undefined : 'fanout-latency.svg'));
  return written;
}

/** The Markdown summary of a report: one table per section present. */
export function resultsMarkdown(report: Record<string, unknown>, chartFile?: string): string {
  const meta = record(report['meta']);
  const out: string[] = [`# Benchmark results, ${dateOf(report)}`, ''];
  out.push(`Machine: ${meta['cpus'] ?? '?'} cores (shared), Node ${meta['node'] ?? '?'}, Redis ${meta['redis'] ?? '?'}; run took ${meta['durationSec'] ?? '?'} s.`);
  out.push('Every ratio compares with a baseline measured in the same run on the same machine.', '');

  const enqueue = record(report['enqueue']);
  if (Object.keys(enqueue).length > 0) {
    out.push(
      '## Enqueue',
      '',
      'CPU per job, in µs: of the process that does the work (the bench process for `baseline` and `inProcess`, the API for the',
      '`api` rows), of Redis, and of every process on the machine (the bench, the API, Redis and the rest together).',
      '',
      '| row | jobs/s | p50 ms | p99 ms | jobs/s vs raw `queue.add` | CPU µs per job | Redis µs per job | machine µs per job |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
    );
    const ratios = record(enqueue['ratiosToBaseline']);
    for (const row of ['baseline', 'inProcess', 'api', 'apiIdempotent', 'bareHttp']) {
      const f = record(enqueue[row]);
      if (Object.keys(f).length === 0) continue;
      const r = row === 'baseline' ? 1 : record(ratios[row])['jobsPerSec'];
      const worker = row === 'baseline' || row === 'inProcess' ? 'benchPct' : row.startsWith('api') ? 'apiPct' : undefined;
      const cpu = record(f['cpu']);
      const jobsPerSec = Number(f['jobsPerSec']);
      const perJob = (pct: unknown) => (typeof pct === 'number' && jobsPerSec > 0 ? Math.round(((pct / 100) * 1e6) / jobsPerSec) : undefined);
      const machinePct = ['benchPct', 'apiPct', 'redisPct', 'otherPct'].reduce<number | undefined>((sum, k) => (typeof cpu[k] === 'number' && sum !== undefined ? sum + (cpu[k] as number) : undefined), 0);
      const cells = [f['jobsPerSec'], f['p50Ms'], f['p99Ms'], r, perJob(worker === undefined ? undefined : cpu[worker]), perJob(cpu['redisPct']), perJob(machinePct)];
      out.push(`| ${row} | ${cells.map(num).join(' | ')} |`);
    }
    const paced = record(enqueue['paced']);
    if (Object.keys(paced).length > 0) {
      out.push('', `Paced at ${num(paced['targetPerSec'])} req/s (\`POST /api/jobs\`): achieved ${num(paced['achievedPerSec'])} req/s, p50 ${num(record(paced['latencyMs'])['p50'])} ms, p99 ${num(record(paced['latencyMs'])['p99'])} ms.`);
    }
    out.push(...redisCommandsTable(record(enqueue['redisCommands'])));
    out.push('');
  }

  const events = Array.isArray(report['events']) ? report['events'].map(record) : [];
  if (events.length > 0) {
    out.push('## Events (relay)', '', '| shape | API p50 / p99 ms | raw XREAD p50 / p99 ms | p99 ratio |', '|---|---:|---:|---:|');
    for (const e of events) {
      const api = record(record(e['api'])['latencyMs']);
      const base = record(record(e['baseline'])['latencyMs']);
      out.push(`| ${e['jobs']} job(s) × ${e['clientsPerJob']} client(s) | ${num(api['p50'])} / ${num(api['p99'])} | ${num(base['p50'])} / ${num(base['p99'])} | ${num(record(e['ratiosToBaseline'])['p99'])} |`);
    }
    out.push('');
  }

  const fanout = fanoutRows(report['fanout']).map((r): Record<string, unknown> & { latencyMs: Record<string, unknown> } => ({ ...record(r), latencyMs: record(r.latencyMs) }));
  if (fanout.length > 0) {
    out.push(
      '## SSE fan-out',
      '',
      'Control routes: p99 of each probe during publishing (health on every system; ready, a job\'s status and a submit on ours). Idle: CPU of the server with every stream of the largest row open, nothing published, % of one core.',
      '',
      '| system | jobs × clients | p50 ms | p99 ms | max ms | deliveries/s | lost | RSS KB/conn | held | health p99 ms | ready / status / submit p99 ms | idle CPU % |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of fanout) {
      const clientsPerJob = r['jobs'] === 1 ? r['clients'] : Number(r['clients']) / Math.max(1, Number(r['jobs']));
      const routes = record(r['controlRoutes']);
      const others = ['ready', 'status', 'submit'].map((name) => record(routes[name])['p99Ms']);
      const othersCell = others.every((v) => v === undefined) ? '–' : others.map(num).join(' / ');
      out.push(
        `| ${r['system']} | ${r['jobs']} × ${num(clientsPerJob)} | ${num(r.latencyMs['p50'])} | ${num(r.latencyMs['p99'])} | ${num(r.latencyMs['max'])} | ${num(r['deliveriesPerSec'])} | ${num(r['lost'])} | ${num(r['rssKbPerConnection'])} | ${num(r['held'])} | ${num(r['healthP99Ms'])} | ${othersCell} | ${r['idleCpuPct'] === undefined ? '' : num(r['idleCpuPct'])} |`,
      );
    }
    if (chartFile !== undefined) out.push('', `![latency against clients](${chartFile})`);
    out.push('');
  }

  const pipeline = record(report['pipeline']);
  if (Object.keys(pipeline).length > 0) {
    const post = record(pipeline['postToAgentMs']);
    out.push('## Pipeline (no-op agent)', '');
    out.push(`Repository: ${num(pipeline['files'])} files, ${num(Math.round(Number(pipeline['bytes']) / 1e6))} MB; ${num(pipeline['trials'])} jobs. POST → agent started: p50 ${num(post['p50'])} ms, p99 ${num(post['p99'])} ms.`);
    out.push(`First job (downloads the repository): ${num(pipeline['firstJobPostToAgentMs'])} ms; later jobs (checkout cache) p50 ${num(record(pipeline['laterJobsPostToAgentMs'])['p50'])} ms. Commit → PR p50 ${num(record(pipeline['commitToPrMs'])['p50'])} ms.`, '');
    out.push('| step | p50 ms |', '|---|---:|');
    for (const [step, ms] of Object.entries(record(pipeline['stepsMs']))) out.push(`| ${step} | ${num(typeof ms === 'object' ? record(ms)['p50'] : ms)} |`);
    out.push('');
  }

  const takeover = record(report['takeover']);
  if (Object.keys(takeover).length > 0) {
    out.push('## Crash takeover', '', `Worker SIGKILLed mid-job, ${num(takeover['trials'])} trials: takeover p50 ${num(takeover['p50S'])} s, p99 ${num(takeover['p99S'])} s.`, '');
  }
  const notes = [...strings(record(report['fanoutMeta'])['notes']), ...strings(pipeline['notes']), ...strings(takeover['notes'])];
  if (notes.length > 0) out.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return `${out.join('\n')}\n`;
}

function fanoutRows(value: unknown): FanoutPoint[] {
  if (!Array.isArray(value)) return [];
  return value.filter((r): r is FanoutPoint => {
    const row = record(r);
    const latency = record(row['latencyMs']);
    return typeof row['system'] === 'string' && typeof row['clients'] === 'number' && typeof row['jobs'] === 'number' && typeof latency['p99'] === 'number' && typeof latency['p50'] === 'number';
  });
}

function dateOf(report: Record<string, unknown>): string {
  const startedAt = record(report['meta'])['startedAt'];
  return typeof startedAt === 'string' ? startedAt.slice(0, 10) : 'undated';
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * Redis's side of the enqueue rows: per job, each command's calls and server µs (a script's total includes the
 * commands it runs, which are listed under their own names as well).
 */
function redisCommandsTable(byRow: Record<string, unknown>): string[] {
  const rows = ['baseline', 'inProcess', 'api'].filter((r) => Object.keys(record(byRow[r])).length > 0);
  if (rows.length === 0) return [];
  const usOf = (row: string, command: string) => record(record(byRow[row])[command])['us'];
  const last = rows[rows.length - 1] ?? 'baseline';
  const commands = [...new Set(rows.flatMap((r) => Object.keys(record(byRow[r]))))];
  commands.sort((a, b) => Number(usOf(last, b) ?? 0) - Number(usOf(last, a) ?? 0));
  const out = [
    '',
    'Redis per job (`INFO commandstats` over each row; server µs, a script\'s total including the commands it runs):',
    '',
    `| command | ${rows.map((r) => `${r} calls | ${r} µs`).join(' | ')} |`,
    `|---|${rows.map(() => '---:|---:').join('|')}|`,
  ];
  for (const command of commands) {
    const cells = rows.flatMap((r) => [record(record(byRow[r])[command])['calls'], usOf(r, command)].map(num));
    out.push(`| ${command} | ${cells.join(' | ')} |`);
  }
  return out;
}

function num(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '–';
  return Number.isInteger(value) ? value.toLocaleString('en-US') : String(Math.round(value * 100) / 100);
}
