import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard. `vite build --config web/vite.config.ts` writes web/dist, which the control
 * plane serves at `/` (src/server/http/dashboard.ts). `vite --config web/vite.config.ts` runs
 * a dev server that proxies the API to a control plane on :7070.
 */
const webRoot = fileURLToPath(new URL('.', import.meta.url));
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const controlPlane = process.env.SLIPWAY_URL ?? 'http://localhost:7070';

export default defineConfig({
  root: webRoot,
  base: '/',
  publicDir: false,
  // No React plugin: esbuild's automatic JSX runtime is all the dashboard needs.
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    // The dashboard imports the typed API client from src/protocol.
    fs: { allow: [repoRoot] },
    proxy: { '/api': controlPlane, '/healthz': controlPlane },
  },
});
