/**
 * `npm run schemas:register`: registers every schema of schemas/manifest.json in order and sets
 * each subject's compatibility level. Running it again changes nothing.
 */
import { Command } from 'commander';
import { loadSchemaManifest } from '../manifest.mts';
import { registerSchemas } from '../register.mts';
import { describeAccess } from '../registry-access.mts';
import { EXIT, resolveRegistryAccess, runCli } from './common.mts';

const program = new Command('schemas:register')
  .description('Register the schemas of schemas/manifest.json and set each subject compatibility level')
  .option('--schemas <dir>', 'schemas directory holding manifest.json', 'schemas')
  .option(
    '--registry-url <url>',
    'Confluent-compatible registry API (default: $SCHEMA_REGISTRY_URL, .local-stack/env, local Apicurio)',
  )
  .parse();
const opts = program.opts<{ schemas: string; registryUrl?: string }>();

await runCli(async () => {
  const manifest = loadSchemaManifest(opts.schemas);
  const access = resolveRegistryAccess(opts.registryUrl);
  console.log(`registry: ${describeAccess(access)}`);
  const report = await registerSchemas(manifest, access, (line) => console.log(line));
  if (!report.ok) {
    console.error('✗ registration stopped; see the reasons above and docs/evolving-events.md');
    return EXIT.failed;
  }
  console.log(report.changes === 0 ? '✓ nothing to change' : `✓ ${report.changes} change(s) applied`);
  return EXIT.ok;
});
