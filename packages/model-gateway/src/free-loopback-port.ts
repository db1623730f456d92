import { createServer } from 'node:net';

/**
 * For tests: a free loopback port, since a gateway's sandbox base URL must be known before it listens (in
 * production it is the sandbox's fixed forwarder port or a public URL).
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
