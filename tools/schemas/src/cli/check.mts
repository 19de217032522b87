/**
 * `npm run schemas:check`: the contract test to run in CI. Exits 0 when every schema in
 * schemas/ is compatible, 1 naming subject, versions and field when one is not, 2 when it
 * cannot run (bad manifest, registry unreachable).
 */
import { Command } from 'commander';
import { checkAgainstRegistry, checkLocally, formatProblems } from '../check.mts';
import { loadSchemaManifest } from '../manifest.mts';
import { RegistryClient } from '../registry-client.mts';
import { describeAccess } from '../registry-access.mts';
import { EXIT, resolveRegistryAccess, runCli } from './common.mts';

const program = new Command('schemas:check')
  .description('Check every schema in schemas/ for compatibility, locally and against the registry')
  .option('--schemas <dir>', 'schemas directory holding manifest.json', 'schemas')
  .option(
    '--registry-url <url>',
    'Confluent-compatible registry API (default: $SCHEMA_REGISTRY_URL, .local-stack/env, local Apicurio)',
  )
  .option('--local-only', 'skip the registry (the local avsc check still runs)', false)
  .option('-q, --quiet', 'print problems only', false)
  .parse();
const opts = program.opts<{ schemas: string; registryUrl?: string; localOnly: boolean; quiet: boolean }>();

await runCli(async () => {
  const manifest = loadSchemaManifest(opts.schemas);
  const problems = checkLocally(manifest);
  const notes: string[] = [];
  if (!opts.localOnly) {
    const client = new RegistryClient(resolveRegistryAccess(opts.registryUrl));
    if (!opts.quiet) console.log(`registry: ${describeAccess(client.access)}`);
    try {
      problems.push(...(await checkAgainstRegistry(manifest, client, notes)));
    } finally {
      await client.close();
    }
  }
  if (!opts.quiet) for (const note of notes) console.log(`  ${note}`);
  const versions = manifest.subjects.reduce((n, s) => n + s.versions.length, 0);
  if (problems.length > 0) {
    console.error(formatProblems(problems));
    console.error(
      `✗ ${problems.length} compatibility problem(s) in ${manifest.subjects.length} subjects; see docs/evolving-events.md`,
    );
    return EXIT.failed;
  }
  console.log(
    `✓ ${versions} schemas in ${manifest.subjects.length} subjects are compatible${opts.localOnly ? ' (local check only)' : ''}`,
  );
  return EXIT.ok;
});
