/**
 * What the three schema CLIs share: where the registry is, and turning known failures into one
 * readable line and an exit code instead of a stack trace.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CodegenError } from '../codegen.mts';
import { ManifestError } from '../manifest.mts';
import { RegistryConfigError, registryAccessFromEnv, type RegistryAccess } from '../registry-access.mts';
import { RegistryRequestError, RegistryUnreachableError } from '../registry-client.mts';

/** Exit codes: 0 all good, 1 a contract is broken (or generated code is stale), 2 cannot run. */
export const EXIT = { ok: 0, failed: 1, cannotRun: 2 } as const;

/** The local stack's Apicurio registry, Confluent API (HTTPS only, with credentials). */
export const DEFAULT_REGISTRY_URL = 'https://127.0.0.1:8081/apis/ccompat/v7';

/** The variables that say how to trust and authenticate to the registry. */
const ACCESS_VARIABLES = ['CA_FILE', 'USERNAME', 'PASSWORD', 'PASSWORD_FILE', 'TOKEN', 'TOKEN_FILE'].map(
  (v) => `SCHEMA_REGISTRY_${v}`,
);

/**
 * Where the registry is and how to reach it. The URL: the `--registry-url` flag, else
 * `SCHEMA_REGISTRY_URL`, else that of the local stack's env file (`.local-stack/env`, or
 * `$CQRS_STACK_STATE/env`, written by `tools/local-stack/stack.sh up`), else the default. CA and
 * credentials: the environment's `SCHEMA_REGISTRY_*` variables when any is set; else, when the
 * URL is the stack's own registry, the env file's (cqrs-admin and the stack's CA), so that
 * credentials are never sent to another registry than the one they belong to.
 */
export function resolveRegistryAccess(
  flag: string | undefined,
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): RegistryAccess {
  const stack = stackEnv(join(env['CQRS_STACK_STATE'] ?? join(cwd, '.local-stack'), 'env'));
  const url = flag || env['SCHEMA_REGISTRY_URL'] || stack['SCHEMA_REGISTRY_URL'] || DEFAULT_REGISTRY_URL;
  const own = ACCESS_VARIABLES.some((name) => env[name]);
  const sameRegistry =
    stack['SCHEMA_REGISTRY_URL'] !== undefined && trimSlash(stack['SCHEMA_REGISTRY_URL']) === trimSlash(url);
  return registryAccessFromEnv(!own && sameRegistry ? stack : env, url);
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The `SCHEMA_REGISTRY_*` lines of the stack's env file; empty without the file. */
function stackEnv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^(SCHEMA_REGISTRY_[A-Z_]+)=(.*)$/.exec(line);
    if (match?.[1] && match[2] !== undefined) vars[match[1]] = match[2].trim();
  }
  return vars;
}

/** Runs a CLI body; known errors become a message on stderr and a non-zero exit code. */
export async function runCli(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (error) {
    if (error instanceof RegistryUnreachableError) {
      console.error(`✗ ${error.message}`);
      if (/CERT|SSL|TLS|VERIFY|SIGNATURE|self[- ]signed/i.test(error.message)) {
        console.error(
          "  The registry's certificate is not trusted: set SCHEMA_REGISTRY_CA_FILE (locally .local-stack/tls/ca.pem).",
        );
      } else {
        console.error(
          '  Is the stack up? `bash tools/local-stack/stack.sh status`; or set SCHEMA_REGISTRY_URL / --registry-url.',
        );
      }
    } else if (error instanceof RegistryRequestError && (error.status === 401 || error.status === 403)) {
      console.error(`✗ ${error.message}`);
      console.error(
        error.status === 401
          ? '  The registry wants credentials: SCHEMA_REGISTRY_USERNAME + SCHEMA_REGISTRY_PASSWORD(_FILE) or SCHEMA_REGISTRY_TOKEN(_FILE) (docs/security.md).'
          : '  These credentials may not do that: registering needs a developer or admin identity (locally cqrs-admin or cqrs-command).',
      );
    } else if (
      error instanceof ManifestError ||
      error instanceof CodegenError ||
      error instanceof RegistryRequestError ||
      error instanceof RegistryConfigError
    ) {
      console.error(`✗ ${error.message}`);
    } else {
      throw error;
    }
    process.exitCode = EXIT.cannotRun;
  }
}
