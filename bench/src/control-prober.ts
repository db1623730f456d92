import { Worker } from 'node:worker_threads';

/** One request an orchestrator or a user would make while the fan-out runs. */
export interface ControlProbe {
  /** Its key in the results: `health`, `ready`, `status`, `submit`. */
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  /** A JSON body (POST). */
  body?: string;
}

/**
 * Sends each probe every `intervalMs` from a worker thread, the way a liveness probe or a user would: on its
 * own thread, so a busy load generator in the main thread does not inflate the figures. The probes run side by
 * side, each on its own schedule and a fresh connection, so a slow one does not hold back the others. A probe
 * that takes longer than `timeoutMs` counts as `timeoutMs`; an answer that is not 2xx counts as a failure.
 */
export class ControlProber {
  private readonly worker: Worker;
  private readonly result: Promise<ProbeSamples>;

  constructor(probes: readonly ControlProbe[], intervalMs = 250, timeoutMs = 10_000) {
    this.worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const http = require('node:http');
      const out = {};
      let stopping = false;
      const probeOnce = (p, samples) => new Promise((resolve) => {
        const start = performance.now();
        let settled = false;
        const done = (ok) => {
          if (settled) return;
          settled = true;
          samples.ms.push(Math.min(performance.now() - start, workerData.timeoutMs));
          if (!ok) samples.failures++;
          resolve();
        };
        const headers = p.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(p.body) };
        const req = http.request(p.url, { method: p.method ?? 'GET', agent: false, timeout: workerData.timeoutMs, headers }, (res) => {
          res.resume();
          res.on('end', () => done(res.statusCode >= 200 && res.statusCode < 300));
        });
        req.on('timeout', () => req.destroy());
        req.on('error', () => done(false));
        req.end(p.body);
      });
      const loop = async (p) => {
        const samples = (out[p.name] = { ms: [], failures: 0 });
        while (!stopping) {
          const next = performance.now() + workerData.intervalMs;
          await probeOnce(p, samples);
          await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        }
      };
      const loops = workerData.probes.map(loop);
      parentPort.on('message', async () => {
        stopping = true;
        await Promise.all(loops);
        parentPort.postMessage(out);
      });
      `,
      { eval: true, workerData: { probes, intervalMs, timeoutMs } },
    );
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (samples: ProbeSamples) => resolve(samples));
      this.worker.once('error', reject);
    });
  }

  /** Stops after the probes in flight; every probe's times in ms and its failures, by name. */
  async stop(): Promise<ProbeSamples> {
    this.worker.postMessage('stop');
    const samples = await this.result;
    await this.worker.terminate();
    return samples;
  }
}

export type ProbeSamples = Record<string, { ms: number[]; failures: number }>;
