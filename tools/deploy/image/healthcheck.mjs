// The app images' HEALTHCHECK: exits 0 when the app on $PORT answers the path (default
// /health/live) with 2xx, 1 otherwise. Node's fetch, because the slim image has no curl.
const port = process.env.PORT;
const path = process.argv[2] ?? '/health/live';
if (!port) {
  process.stderr.write('healthcheck: PORT is not set\n');
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2500) });
  if (!response.ok) process.stderr.write(`healthcheck: ${path} answered ${response.status}\n`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${path}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
