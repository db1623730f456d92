import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The console is served by the API under /ui/ (apps/api/src/web-console.ts), so every asset URL starts
 * there. `vite dev` proxies the API (TINYB_API_URL, default the API's own default port) so the same
 * relative URLs work in development.
 */
export default defineConfig({
  base: '/ui/',
  plugins: [preact()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    rollupOptions: {
      // zod's sources carry `@__PURE__` comments Rollup cannot place; harmless, and not ours to fix.
      onwarn(warning, warn) {
        if (warning.code === 'INVALID_ANNOTATION' && warning.id?.includes('/zod/')) return;
        warn(warning);
      },
    },
  },
  server: {
    proxy: { '/api': { target: process.env['TINYB_API_URL'] ?? 'http://127.0.0.1:8000', changeOrigin: false } },
  },
});
