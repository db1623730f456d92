import { Worker } from 'node:worker_threads';

/**
 * Probes a URL every `intervalMs` from a worker thread, the way an orchestrator's liveness probe would: on
 * its own thread, so a busy load generator in the main thread does not inflate the figures. A probe that
 * takes longer than `timeoutMs` counts as `timeoutMs`.
 */
export class HealthProber {
  private readonly worker: Worker;
  private readonly result: Promise<number[]>;

  constructor(url: string, intervalMs = 250, timeoutMs = 10_000) {
    this.worker = new Worker(
      `
      const { parentPort, workerData } = require('node:worker_threads');
      const http = require('node:http');
      const samples = [];
      let stopping = false;
      const probe = () => new Promise((resolve) => {
        const start = performance.now();
        const done = () => { samples.push(Math.min(performance.now() - start, workerData.timeoutMs)); resolve(); };
        const req = http.get(workerData.url, { agent: false, timeout: workerData.timeoutMs }, (res) => { res.resume(); res.on('end', done); });
        req.on('timeout', () => req.destroy());
        req.on('error', done);
      });
      const loop = async () => {
        while (!stopping) {
          const next = performance.now() + workerData.intervalMs;
          await probe();
          await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
        }
        parentPort.postMessage(samples);
      };
      parentPort.on('message', () => { stopping = true; });
      loop();
      `,
      { eval: true, workerData: { url, intervalMs, timeoutMs } },
    );
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (samples: number[]) => resolve(samples));
      this.worker.once('error', reject);
    });
  }

  /** Stops after the probe in flight and returns every probe's time in ms. */
  async stop(): Promise<number[]> {
    this.worker.postMessage('stop');
    const samples = await this.result;
    await this.worker.terminate();
    return samples;
  }
}
