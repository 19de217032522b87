/**
 * `npm run schemas:codegen`: writes the TypeScript contracts of one context (e.g. `tasks`) into
 * its contracts lib. `--check` writes nothing and exits 1 when the files on disk are stale.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { GENERATED_MARKER, generateContracts } from '../codegen.mts';
import { loadSchemaManifest } from '../manifest.mts';
import { EXIT, runCli } from './common.mts';

const program = new Command('schemas:codegen')
  .description('Generate TypeScript types and schema constants from schemas/ for one context')
  .requiredOption('--context <name>', 'first folder under schemas/, e.g. tasks')
  .requiredOption('--out <dir>', 'output folder, e.g. libs/tasks/contracts/src/generated')
  .option('--schemas <dir>', 'schemas directory holding manifest.json', 'schemas')
  .option('--check', 'write nothing; exit 1 if the output folder is stale', false)
  .parse();
const opts = program.opts<{ context: string; out: string; schemas: string; check: boolean }>();

await runCli(async () => {
  const files = generateContracts(loadSchemaManifest(opts.schemas), opts.context);
  // Only files we generated are ours to replace or remove.
  const onDisk = existsSync(opts.out)
    ? readdirSync(opts.out).filter(
        (f) => f.endsWith('.ts') && readFileSync(join(opts.out, f), 'utf8').startsWith(GENERATED_MARKER),
      )
    : [];
  const stale = [
    ...[...files]
      .filter(
        ([name, text]) => !existsSync(join(opts.out, name)) || readFileSync(join(opts.out, name), 'utf8') !== text,
      )
      .map(([name]) => name),
    ...onDisk.filter((name) => !files.has(name)),
  ];
  if (opts.check) {
    if (stale.length === 0) {
      console.log(`✓ ${opts.out} is up to date`);
      return EXIT.ok;
    }
    console.error(`✗ generated contracts are stale in ${opts.out}: ${stale.join(', ')}`);
    console.error('  run `npm run schemas:codegen` and commit the result');
    return EXIT.failed;
  }
  mkdirSync(opts.out, { recursive: true });
  for (const name of onDisk) if (!files.has(name)) rmSync(join(opts.out, name));
  for (const [name, text] of files) writeFileSync(join(opts.out, name), text);
  console.log(stale.length === 0 ? `✓ ${opts.out} was up to date` : `✓ wrote ${opts.out}: ${stale.join(', ')}`);
  return EXIT.ok;
});
