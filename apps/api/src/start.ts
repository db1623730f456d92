import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createLogger, loadDotEnv } from '@tinyb/runtime';
import { runApiCluster } from './api-cluster.js';
import { loadApiEnv } from './env.js';

/**
 * `pnpm start`: API_PROCESSES API processes on one port (default: one per core). With one, or inside a
 * cluster child, this is main.ts itself. The settings are parsed here too, so a bad one stops the primary
 * with its message instead of a restart loop of children.
 */
loadDotEnv();
const env = loadApiEnv();
const processes = env.API_PROCESSES ?? availableParallelism();
if (cluster.isPrimary && processes > 1) {
  const logger = createLogger({ name: 'api-cluster', level: env.LOG_LEVEL, pretty: env.LOG_PRETTY ?? env.NODE_ENV !== 'production' });
  runApiCluster({ processes, logger });
} else {
  await import('./main.js');
}
