import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Name and version of the running app, from the package.json its build writes beside main.js. */
export function serviceIdentity(fallbackName = 'app'): { name: string; version: string } {
  const dir = dirname(process.argv[1] ?? '.');
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return { name: pkg.name ?? basename(dir), version: pkg.version ?? '0.0.0' };
  } catch {
    // not a built app (Jest, or TypeScript run by @swc-node/register): no package.json beside the entry point
    return { name: fallbackName, version: process.env['npm_package_version'] ?? '0.0.0' };
  }
}
