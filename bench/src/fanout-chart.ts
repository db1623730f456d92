import { scaleLinear, scaleLog, scaleOrdinal } from 'd3-scale';
import { line } from 'd3-shape';

/** The part of a `fanout` row the chart reads (see bench-fanout.ts for the whole row). */
export interface FanoutPoint {
  system: string;
  clients: number;
  jobs: number;
  latencyMs: { p50: number; p99: number; max?: number };
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { top: 40, right: 170, bottom: 50, left: 70 };
const SYSTEMS = ['tiny-backspace', 'pushpin', 'nchan'];
const COLORS = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b', '#e377c2'];

/**
 * An SVG chart of delivery latency (p50 dashed, p99 solid) against the number of clients on one job, one line
 * per fan-out system, from the results' `fanout` rows. Scales and ticks come from d3-scale, the line paths from
 * d3-shape; only the elements around them are written here. Rows of the many-jobs shape (jobs > 1) are left
 * out: their x is not "clients on one channel". Undefined when there is nothing to draw.
 */
export function fanoutLatencyChart(rows: readonly FanoutPoint[], title: string): string | undefined {
  const points = rows.filter((r) => r.jobs === 1 && Number.isFinite(r.latencyMs.p99) && r.clients > 0);
  if (points.length === 0) return undefined;
  const systems = [...new Set([...SYSTEMS.filter((s) => points.some((p) => p.system === s)), ...points.map((p) => p.system)])];
  const clients = points.map((p) => p.clients);
  const minClients = Math.min(...clients);
  const maxClients = Math.max(...clients);
  // Clients go 1k, 5k, 10k: a log axis spaces them evenly. One distinct count cannot make a log domain.
  const x = (minClients === maxClients ? scaleLinear().domain([0, maxClients * 1.1]) : scaleLog().domain([minClients / 1.2, maxClients * 1.2]))
    .range([MARGIN.left, WIDTH - MARGIN.right]);
  const maxLatency = Math.max(...points.map((p) => p.latencyMs.p99), 1);
  const y = scaleLinear().domain([0, maxLatency * 1.1]).nice().range([HEIGHT - MARGIN.bottom, MARGIN.top]);
  // Each system keeps its colour from run to run, whichever systems a run had.
  const color = scaleOrdinal<string, string>().domain([...SYSTEMS, ...systems.filter((s) => !SYSTEMS.includes(s))]).range(COLORS);
  const path = line<FanoutPoint>();

  const series = systems.flatMap((system, i) => {
    const own = points.filter((p) => p.system === system).sort((a, b) => a.clients - b.clients);
    const p99 = path.x((p) => x(p.clients)).y((p) => y(p.latencyMs.p99))(own) ?? '';
    const p50 = path.x((p) => x(p.clients)).y((p) => y(p.latencyMs.p50))(own) ?? '';
    const stroke = color(system);
    const dots = own.map((p) => `<circle cx="${fixed(x(p.clients))}" cy="${fixed(y(p.latencyMs.p99))}" r="3.5" fill="${stroke}"><title>${escapeXml(system)} ${p.clients} clients: p50 ${p.latencyMs.p50} ms, p99 ${p.latencyMs.p99} ms</title></circle>`);
    const legendY = MARGIN.top + 10 + i * 22;
    return [
      `<path d="${p99}" fill="none" stroke="${stroke}" stroke-width="2"/>`,
      `<path d="${p50}" fill="none" stroke="${stroke}" stroke-width="1.5" stroke-dasharray="5 4"/>`,
      ...dots,
      `<line x1="${WIDTH - MARGIN.right + 15}" x2="${WIDTH - MARGIN.right + 40}" y1="${legendY}" y2="${legendY}" stroke="${stroke}" stroke-width="2"/>`,
      `<text x="${WIDTH - MARGIN.right + 46}" y="${legendY + 4}">${escapeXml(system)}</text>`,
    ];
  });
  const xTicks = [...new Set(clients)].sort((a, b) => a - b).map((c) => {
    const at = fixed(x(c));
    return `<line x1="${at}" x2="${at}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom + 5}" stroke="#333"/><text x="${at}" y="${HEIGHT - MARGIN.bottom + 20}" text-anchor="middle">${c.toLocaleString('en-US')}</text>`;
  });
  const yTicks = y.ticks(6).map((t) => {
    const at = fixed(y(t));
    return `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${at}" y2="${at}" stroke="#e5e5e5"/><text x="${MARGIN.left - 8}" y="${at + 4}" text-anchor="end">${t}</text>`;
  });
  const legendNoteY = MARGIN.top + 10 + systems.length * 22 + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    ...yTicks,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${HEIGHT - MARGIN.bottom}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${HEIGHT - MARGIN.bottom}" stroke="#333"/>`,
    ...xTicks,
    `<text x="${(MARGIN.left + WIDTH - MARGIN.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle">SSE clients on one job</text>`,
    `<text transform="translate(18 ${(MARGIN.top + HEIGHT - MARGIN.bottom) / 2}) rotate(-90)" text-anchor="middle">delivery latency (ms)</text>`,
    ...series,
    `<text x="${WIDTH - MARGIN.right + 15}" y="${legendNoteY}" fill="#555">solid: p99</text>`,
    `<text x="${WIDTH - MARGIN.right + 15}" y="${legendNoteY + 16}" fill="#555">dashed: p50</text>`,
    '</svg>',
    '',
  ].join('\n');
}

function fixed(n: number): string {
  return n.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}
