import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

let root: string | undefined;

/** The workspace root (the directory holding nx.json). */
export function repoRoot(): string {
  if (root) return root;
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return (root = dir);
  }
  throw new Error(`no nx.json above ${__dirname}`);
}

/** A file of the repo as text. */
export const readRepoFile = (path: string): string => readFileSync(join(repoRoot(), path), 'utf8');

/** The event topics of every context: those of schemas/manifest.json, sorted. */
export function eventTopics(): string[] {
  const manifest = JSON.parse(readRepoFile('schemas/manifest.json')) as { schemas: { topic: string }[] };
  return [...new Set(manifest.schemas.map((s) => s.topic))].sort();
}
