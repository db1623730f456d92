import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Router } from 'express';

/**
 * The web console's static build (apps/web, `vite build`), served under /ui/. Its pages are routes of a
 * single-page app, so any `/ui/...` path that is not a file gets index.html: a deep link such as
 * `/ui/jobs/<id>` works on reload. The files hold no secret; the data they show needs the API key.
 * When the console was not built, every /ui/ path says so instead of a bare 404.
 */
export function webConsole(distDir: string): Router {
  const router = express.Router();
  const indexHtml = join(distDir, 'index.html');
  router.use((_req, res, next) => {
    // The console renders job data (an agent's messages, tool output) as text, never as markup; this keeps
    // anything that slips through from loading or sending anything off this origin.
    res.set('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  // Hashed names: a file never changes under its name. A missing one is a 404, not the app's page.
  router.use('/assets', express.static(join(distDir, 'assets'), { immutable: true, maxAge: '1y', index: false }), (_req, res) => {
    res.status(404).type('text/plain').send('no such asset\n');
  });
  router.use(express.static(distDir, { index: false }));
  router.get(/.*/, (_req, res) => {
    if (!existsSync(indexHtml)) {
      res
        .status(404)
        .type('text/plain')
        .send(`The web console is not built (no ${indexHtml}).\nBuild it with: pnpm --filter @tinyb/web build\n`);
      return;
    }
    // Always revalidated: it names the current hashed assets.
    res.set('Cache-Control', 'no-cache').sendFile(indexHtml);
  });
  return router;
}
