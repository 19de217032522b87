import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { parseConsoleConfig } from './server/config';
import { handleConsoleRequest } from './server/console-server';

const here = dirname(fileURLToPath(import.meta.url));
const workspaceRoot = resolve(here, '../..');

/** The workspace's `@cqrs/*` path aliases (tsconfig.base.json), so the page imports `@cqrs/client`. */
function workspaceAliases(): Record<string, string> {
  const base = JSON.parse(readFileSync(resolve(workspaceRoot, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  return Object.fromEntries(
    Object.entries(base.compilerOptions.paths).map(([name, [target]]) => [name, resolve(workspaceRoot, target)]),
  );
}

/**
 * The dev server answers `/api/*`, `/config.json` and `/healthz` with the production server's own
 * handler, so `nx run console:serve` proxies exactly as `server.mjs` does.
 */
function consoleApi(): Plugin {
  return {
    name: 'console-api',
    configureServer(server) {
      const parsed = parseConsoleConfig(process.env, resolve(workspaceRoot, 'dist/apps/console/public'));
      if (!parsed.ok) throw new Error(`invalid console configuration:\n  ${parsed.problems.join('\n  ')}`);
      const log = (line: string) => server.config.logger.warn(`[console] ${line}`);
      server.middlewares.use((req, res, next) => {
        if (!handleConsoleRequest(req, res, parsed.config, log, false)) next();
      });
    },
  };
}

const devPort = Number(process.env['CONSOLE_PORT'] ?? 4200);

export default defineConfig({
  root: here,
  plugins: [react(), consoleApi()],
  resolve: { alias: workspaceAliases() },
  server: { port: devPort, host: process.env['CONSOLE_HOST'] ?? '127.0.0.1', strictPort: true },
  build: {
    outDir: resolve(workspaceRoot, 'dist/apps/console/public'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
});
