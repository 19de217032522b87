/**
 * The console's production server: `node dist/apps/console/server.mjs`. Configuration is the
 * environment (docs/console.md); a bad value stops it with exit code 2 and one line per problem.
 */
import { fileURLToPath } from 'node:url';
import { parseConsoleConfig, staticDirBeside } from './config';
import { createConsoleServer } from './console-server';

const log = (line: string) => process.stderr.write(`[console] ${line}\n`);

const parsed = parseConsoleConfig(process.env, staticDirBeside(fileURLToPath(import.meta.url)));
if (!parsed.ok) {
  log(`refusing to start, the configuration is invalid:\n  ${parsed.problems.join('\n  ')}`);
  process.exit(2);
}
const { config } = parsed;
const server = createConsoleServer(config, log);
server.on('error', (err: NodeJS.ErrnoException) => {
  log(`cannot listen on ${config.host}:${config.port}: ${err.code ?? err.message}`);
  process.exit(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 2 : 1);
});
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  process.stdout.write(
    `console listening on http://${config.host}:${port} (page ${config.staticDir}; commands ${config.commandsUrl.origin}, queries ${config.queriesUrl.origin}, admin ${config.adminUrl.origin}${config.devIssuerUrl ? `, dev tokens via ${config.devIssuerUrl.origin}` : ''})\n`,
  );
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
