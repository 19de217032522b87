import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));

/** The production server as one file, `dist/apps/console/server.mjs`, beside the page's `public/`. */
export default defineConfig({
  root: here,
  publicDir: false,
  build: {
    ssr: resolve(here, 'server/main.ts'),
    outDir: resolve(here, '../../dist/apps/console'),
    emptyOutDir: false,
    target: 'node24',
    sourcemap: true,
    minify: false,
    rolldownOptions: { output: { entryFileNames: 'server.mjs', format: 'es' } },
  },
  ssr: { target: 'node' },
});
