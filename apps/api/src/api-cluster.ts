import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '@tinyb/core';

export interface ApiClusterOptions {
  /** API processes to keep running, all listening on the same port (the primary hands out connections). */
  processes: number;
  logger: Logger;
  /** How long SIGTERM waits for the processes to drain before killing them. */
  drainTimeoutMs?: number;
  /** A process that dies within this of its start counts as a crash loop: restarts are then spaced by it. */
  restartBackoffMs?: number;
}

/**
 * The primary of `API_PROCESSES` API processes on one port (node:cluster: each child runs main.ts and holds
 * its share of the connections; they share nothing but Redis, so a stream resumes on any of them with
 * Last-Event-ID). A child that dies is replaced; SIGTERM/SIGINT is passed to every child, which closes its
 * streams and connections, and the primary exits when they have (or after the drain timeout).
 */
export function runApiCluster(opts: ApiClusterOptions): void {
  const restartBackoffMs = opts.restartBackoffMs ?? 1_000;
  let stopping = false;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork();
    startedAt.set(worker.id, Date.now());
  };
  for (let i = 0; i < opts.processes; i++) fork();
  cluster.on('exit', (worker: Worker, code, signal) => {
    const livedMs = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      return;
    }
    opts.logger.warn({ pid: worker.process.pid, code, signal, livedMs }, 'api process exited; starting another');
    setTimeout(fork, livedMs < restartBackoffMs ? restartBackoffMs : 0);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    opts.logger.info({ signal, processes: Object.keys(cluster.workers ?? {}).length }, 'api cluster draining');
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    setTimeout(() => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      process.exit(1);
    }, opts.drainTimeoutMs ?? 10_000).unref();
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  opts.logger.info({ processes: opts.processes }, 'api cluster started');
}
