import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { webConsole } from './web-console.js';

/** The console's static serving on a real HTTP server, over a small stand-in for `vite build`'s output. */
describe('webConsole', () => {
  let dist: string;
  let server: Server;
  let base: string;

  const serve = (dir: string) =>
    new Promise<void>((resolve) => {
      const app = express();
      app.use('/ui', webConsole(dir));
      app.use((_req, res) => res.status(404).json({ error: { code: 'not_found', message: 'no such route' } }));
      server = app.listen(0, '127.0.0.1', () => {
        const address = server.address();
        base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
        resolve();
      });
    });

  beforeEach(async () => {
    dist = await mkdtemp(join(tmpdir(), 'tinyb-web-dist-'));
  });
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await rm(dist, { recursive: true, force: true });
  });

  it('serves index.html for every page path, so a deep link works on reload, and the hashed assets', async () => {
    await mkdir(join(dist, 'assets'));
    await writeFile(join(dist, 'index.html'), '<!doctype html><div id="app"></div>');
    await writeFile(join(dist, 'assets', 'index-abc123.js'), 'console.log(1)');
    await serve(dist);

    for (const path of ['/ui', '/ui/', '/ui/jobs/4f0c-1']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await res.text()).toContain('<div id="app">');
    }
    const asset = await fetch(`${base}/ui/assets/index-abc123.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    const missing = await fetch(`${base}/ui/assets/index-gone.js`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('no such asset\n');
    // Only /ui/ is the console's.
    expect((await fetch(`${base}/api/jobs`)).status).toBe(404);
  });

  it('says how to build the console when it was not built', async () => {
    await serve(join(dist, 'nothing-here'));
    const res = await fetch(`${base}/ui/jobs/abc`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('pnpm --filter @tinyb/web build');
  });
});
