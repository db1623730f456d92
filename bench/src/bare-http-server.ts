import { spawn, type ChildProcess } from 'node:child_process';

/**
 * node:http alone, in its own process: reads and parses a submit's JSON body and answers 202 with a body of
 * the API's size, touching nothing else (no Redis, no validation). The enqueue section's `bareHttp` row: the
 * most any Node HTTP API could do on this machine, next to what BullMQ's `add` does without HTTP.
 */
const SERVER = `
const http = require('node:http');
const id = '0d0c6a51-9d1e-4b61-a4a0-5a2a5e0f3f11';
const answer = JSON.stringify({ id, status: 'queued', links: { self: '/api/jobs/' + id, events: '/api/jobs/' + id + '/events', cancel: '/api/jobs/' + id + '/cancel' } });
const server = http.createServer((req, res) => {
  const parts = [];
  req.on('data', (chunk) => parts.push(chunk));
  req.on('end', () => {
    JSON.parse(Buffer.concat(parts).toString('utf8'));
    res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.on('disconnect', () => process.exit(0));
`;

export interface BareHttpServer {
  port: number;
  pid: number;
  stop(): void;
}

export async function startBareHttpServer(timeoutMs = 10_000): Promise<BareHttpServer> {
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the bare HTTP server did not start')), timeoutMs);
    child.once('exit', (code) => reject(new Error(`the bare HTTP server exited (${code})`)));
    child.stdout!.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve(Number(chunk.toString().trim()));
    });
  });
  return { port, pid: child.pid!, stop: () => void child.kill() };
}
