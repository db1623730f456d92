/**
 * Throughput of Redactor on the hot path: 1 KB agent events (JSON-like, some with a secret) through
 * `redactValue`, with 10 registered secrets. `npx tsx src/redactor.bench.ts`; prints one JSON line.
 */
import { Redactor } from './redactor.js';

const redactor = new Redactor();
const secrets = Array.from({ length: 10 }, (_, i) => `registered-secret-${i}-${'Qx7'.repeat(8)}`);
for (const s of secrets) redactor.add(s);

const filler = 'const value = computeSomething(input, options); // ordinary agent output, code and prose\n';
const events = Array.from({ length: 1000 }, (_, i) => ({
  type: 'agent.tool_result',
  tool: 'Bash',
  ok: true,
  // One event in ten carries a registered secret, one in twenty a GitHub token shape.
  output: (filler.repeat(12) + (i % 10 === 0 ? `KEY=${secrets[i % 10]}\n` : '') + (i % 20 === 0 ? `ghp_${'a1B2'.repeat(9)}\n` : '')).slice(0, 1000),
}));
const bytes = events.reduce((n, e) => n + JSON.stringify(e).length, 0);

for (let i = 0; i < 3; i++) for (const e of events) redactor.redactValue(e); // warm up
const rounds = 50;
const started = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) for (const e of events) redactor.redactValue(e);
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({
  registeredSecrets: secrets.length,
  eventBytes: Math.round(bytes / events.length),
  eventsPerSecond: Math.round((rounds * events.length) / seconds),
  mbPerSecond: Number(((rounds * bytes) / seconds / 1e6).toFixed(1)),
}));
