/**
 * Registers every schema of the manifest, oldest version first, and sets each subject's
 * compatibility level. Idempotent: a schema the subject already holds is looked up, not
 * posted again, and a level that already matches is not rewritten, so a second run changes
 * nothing.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { explainIncompatibility } from './avro-compat.mts';
import type { SchemaManifest, SchemaVersion, SubjectContract } from './manifest.mts';
import { authorizationHeader, httpsAgent, type RegistryAccess } from './registry-access.mts';
import { RegistryClient, RegistryUnreachableError } from './registry-client.mts';

/** What happened to one schema file. */
export interface RegisterOutcome {
  subject: string;
  file: string;
  action: 'unchanged' | 'registered' | 'failed' | 'skipped';
  /** The registry's version number and schema id, when known. */
  version?: number;
  id?: number;
  /** Why registration failed, with the registry's message and the local explanation. */
  reason?: string[];
}

export interface RegisterReport {
  outcomes: RegisterOutcome[];
  /** Subjects whose compatibility level this run changed, e.g. `NONE -> FULL_TRANSITIVE`. */
  levelChanges: Array<{ subject: string; from: string; to: string }>;
  /** Number of schemas registered plus levels changed; 0 on a run that changed nothing. */
  changes: number;
  ok: boolean;
}

type SchemaRegistryArgs = ConstructorParameters<typeof SchemaRegistry>[0];
type Middleware = NonNullable<SchemaRegistryArgs['middlewares']>[number];

/**
 * `@kafkajs/confluent-schema-registry` options for `access`: basic credentials as its `auth`, a
 * bearer token by a middleware (read per request, so a rotated token file applies), the CA by
 * an https agent.
 */
export function schemaRegistryArgs(access: RegistryAccess): SchemaRegistryArgs {
  const { auth } = access;
  const bearer: Middleware = () => ({
    request: (request) => request.enhance({ headers: { authorization: authorizationHeader(auth) ?? '' } }),
  });
  const agent = httpsAgent(access);
  return {
    host: access.url.replace(/\/+$/, ''),
    ...(auth.kind === 'basic' ? { auth: { username: auth.username, password: auth.password } } : {}),
    ...(auth.kind === 'bearer' ? { middlewares: [bearer] } : {}),
    ...(agent === undefined ? {} : { agent }),
  };
}

/**
 * Registers the manifest's schemas in the registry of `target` (a URL: no credentials),
 * reporting each step through `log`.
 * @throws {RegistryUnreachableError} when the registry cannot be reached.
 */
export async function registerSchemas(
  manifest: SchemaManifest,
  target: string | RegistryAccess,
  log: (line: string) => void = () => undefined,
): Promise<RegisterReport> {
  const client = new RegistryClient(target);
  try {
    return await registerAll(manifest, client, log);
  } finally {
    await client.close();
  }
}

async function registerAll(
  manifest: SchemaManifest,
  client: RegistryClient,
  log: (line: string) => void,
): Promise<RegisterReport> {
  // One quick probe so an unreachable registry is one clear error, not one per subject.
  await client.ping();
  // No retries here: the CLI is re-runnable and a dead registry should fail fast.
  const registry = new SchemaRegistry({ ...schemaRegistryArgs(client.access), retry: { retries: 0 } });
  const report: RegisterReport = { outcomes: [], levelChanges: [], changes: 0, ok: true };

  for (const contract of manifest.subjects) {
    const existing = await client.versions(contract.subject);
    if (existing) {
      // Apicurio reports the global level (NONE) for a subject without its own; the kafkajs
      // client would then refuse to register ("compatibility does not match"), so set it first.
      const level = await client.compatibility(contract.subject);
      if (level !== contract.compatibility) {
        await client.setCompatibility(contract.subject, contract.compatibility);
        report.levelChanges.push({ subject: contract.subject, from: level ?? 'unset', to: contract.compatibility });
        log(`~ ${contract.subject}: compatibility ${level ?? 'unset'} -> ${contract.compatibility}`);
      }
    }
    let failed = false;
    for (const version of contract.versions) {
      if (failed) {
        report.outcomes.push({ subject: contract.subject, file: version.file, action: 'skipped' });
        log(`- ${contract.subject}: ${version.file} skipped (an earlier version failed)`);
        continue;
      }
      const outcome = await registerVersion(client, registry, contract, version, existing !== undefined);
      report.outcomes.push(outcome);
      log(formatOutcome(outcome));
      failed = outcome.action === 'failed';
    }
  }
  report.changes = report.levelChanges.length + report.outcomes.filter((o) => o.action === 'registered').length;
  report.ok = report.outcomes.every((o) => o.action === 'unchanged' || o.action === 'registered');
  return report;
}

async function registerVersion(
  client: RegistryClient,
  registry: SchemaRegistry,
  contract: SubjectContract,
  version: SchemaVersion,
  subjectExisted: boolean,
): Promise<RegisterOutcome> {
  const base = { subject: contract.subject, file: version.file };
  const found = subjectExisted ? await client.lookup(contract.subject, version.canonical) : undefined;
  if (found) return { ...base, action: 'unchanged', version: found.version, id: found.id };
  try {
    // The kafkajs client checks GET /config/{subject} against `compatibility` and, for a new
    // subject, sets that level right after the first version.
    await registry.register(
      { type: SchemaType.AVRO, schema: version.canonical },
      { subject: contract.subject, compatibility: COMPATIBILITY[contract.compatibility] },
    );
  } catch (error) {
    return { ...base, action: 'failed', reason: await failureReason(client, contract, version, error) };
  }
  const registered = await client.lookup(contract.subject, version.canonical);
  return { ...base, action: 'registered', version: registered?.version, id: registered?.id };
}

/** The registry's words plus, for an incompatible schema, which field breaks against which version. */
async function failureReason(
  client: RegistryClient,
  contract: SubjectContract,
  version: SchemaVersion,
  error: unknown,
): Promise<string[]> {
  const e = error as Error & { status?: number };
  if (isNetworkError(e)) throw new RegistryUnreachableError(client.baseUrl, e.message);
  // Anything that is neither an HTTP answer nor the client's own error is a bug: let it surface.
  if (typeof e.status !== 'number' && !e.name?.startsWith('ConfluentSchemaRegistry')) throw error;
  const reason = [`registry: ${e.message.replace(/^Confluent_Schema_Registry - /, '')}`];
  if (e.status === 409) reason.push(...(await explainAgainstRegistry(client, contract, version)));
  if (e.status === 403)
    reason.push(
      'these credentials may read schemas but not register them: use a developer or admin identity (locally cqrs-command or cqrs-admin)',
    );
  return reason;
}

/**
 * Explains locally why `version` conflicts with what the subject holds, at the manifest's
 * level: the registry (Apicurio at least) says only "incompatible".
 */
export async function explainAgainstRegistry(
  client: RegistryClient,
  contract: SubjectContract,
  version: SchemaVersion,
): Promise<string[]> {
  const numbers = (await client.versions(contract.subject)) ?? [];
  const level = contract.compatibility;
  const against = level.endsWith('_TRANSITIVE') ? numbers : numbers.slice(-1);
  const lines: string[] = [];
  for (const n of against) {
    const held = await client.version(contract.subject, n);
    const heldSchema = JSON.parse(held.schema) as unknown;
    const file = `${version.file} (v${version.version})`;
    const registered = `registered version ${n}`;
    if (!level.startsWith('FORWARD') && level !== 'NONE') {
      for (const issue of explainIncompatibility(version.schema, heldSchema, {
        reader: file,
        writer: registered,
        readerIsNewer: true,
      })) {
        lines.push(issue.message);
      }
    }
    if (!level.startsWith('BACKWARD') && level !== 'NONE') {
      for (const issue of explainIncompatibility(heldSchema, version.schema, {
        reader: registered,
        writer: file,
        readerIsNewer: false,
      })) {
        lines.push(issue.message);
      }
    }
  }
  return lines;
}

/**
 * mappersmith (under the kafkajs client) reports a refused connection or a timeout as
 * status 400 with the socket error as the message.
 */
function isNetworkError(e: Error & { status?: number }): boolean {
  if (typeof e.status !== 'number') return false;
  return (
    e.status >= 500 ||
    /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|socket hang up|Timeout \(/.test(e.message)
  );
}

function formatOutcome(o: RegisterOutcome): string {
  const at = o.version !== undefined ? ` as version ${o.version} (schema id ${o.id})` : '';
  switch (o.action) {
    case 'unchanged':
      return `= ${o.subject}: ${o.file} already registered${at}`;
    case 'registered':
      return `+ ${o.subject}: ${o.file} registered${at}`;
    case 'skipped':
      return `- ${o.subject}: ${o.file} skipped`;
    case 'failed':
      return [`✗ ${o.subject}: ${o.file} was not registered`, ...(o.reason ?? []).map((r) => `    ${r}`)].join('\n');
  }
}
