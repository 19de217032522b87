// The app images' HEALTHCHECK: exits 0 when the app answers the path (default /health/live) with
// 2xx, 1 otherwise. Node's fetch, because the slim image has no curl. Health is served on the
// management port: MANAGEMENT_PORT for the API apps (their API port answers it 404), else PORT
// (the projector and the relay have that one port).
const port = process.env.MANAGEMENT_PORT || process.env.PORT;
const path = process.argv[2] ?? '/health/live';
if (!port) {
  process.stderr.write('healthcheck: neither MANAGEMENT_PORT nor PORT is set\n');
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2500) });
  if (!response.ok) process.stderr.write(`healthcheck: ${path} on :${port} answered ${response.status}\n`);
  process.exit(response.ok ? 0 : 1);
} catch (error) {
  process.stderr.write(`healthcheck: ${path} on :${port}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
