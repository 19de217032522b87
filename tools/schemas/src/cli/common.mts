/**
 * What the three schema CLIs share: where the registry is, and turning known failures into one
 * readable line and an exit code instead of a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodegenError } from '../codegen.mts';
import { ManifestError } from '../manifest.mts';
import { RegistryRequestError, RegistryUnreachableError } from '../registry-client.mts';

/** Exit codes: 0 all good, 1 a contract is broken (or generated code is stale), 2 cannot run. */
export const EXIT = { ok: 0, failed: 1, cannotRun: 2 } as const;

/** The local stack's Apicurio registry, Confluent API. */
export const DEFAULT_REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';

/**
 * The registry URL from, in order: the `--registry-url` flag, `SCHEMA_REGISTRY_URL`, the
 * local stack's `.local-stack/env` (written by `tools/local-stack/stack.sh up`), the default.
 */
export function resolveRegistryUrl(flag: string | undefined, cwd = process.cwd()): string {
  if (flag) return flag;
  if (process.env['SCHEMA_REGISTRY_URL']) return process.env['SCHEMA_REGISTRY_URL'];
  const envFile = join(cwd, '.local-stack', 'env');
  if (existsSync(envFile)) {
    const line = readFileSync(envFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('SCHEMA_REGISTRY_URL='));
    if (line) return line.slice('SCHEMA_REGISTRY_URL='.length).trim();
  }
  return DEFAULT_REGISTRY_URL;
}

/** Runs a CLI body; known errors become a message on stderr and a non-zero exit code. */
export async function runCli(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (error) {
    if (error instanceof RegistryUnreachableError) {
      console.error(`✗ ${error.message}`);
      console.error('  Is the stack up? `bash tools/local-stack/stack.sh status`; or set SCHEMA_REGISTRY_URL / --registry-url.');
    } else if (error instanceof ManifestError || error instanceof CodegenError || error instanceof RegistryRequestError) {
      console.error(`✗ ${error.message}`);
    } else {
      throw error;
    }
    process.exitCode = EXIT.cannotRun;
  }
}
