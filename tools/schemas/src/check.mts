/**
 * The contract gate. Two independent checks, because each catches what the other cannot:
 * - locally, with avsc: for each subject, every reader version that its compatibility level
 *   promises can read every writer version, and each fixture survives that round trip. This
 *   catches a bad new version before anything is registered.
 * - against the registry: every schema the subject does not hold yet must be compatible with
 *   what it holds, at the subject's level. This catches an edit of an already-registered file
 *   and versions that exist only in the registry.
 */
import { explainIncompatibility, readPairs } from './avro-compat.mts';
import type { SchemaManifest } from './manifest.mts';
import { explainAgainstRegistry } from './register.mts';
import type { RegistryClient } from './registry-client.mts';

/** One broken promise, naming subject, versions and the field. */
export interface ContractProblem {
  subject: string;
  /** `local` (schemas/ against itself) or `registry` (schemas/ against the registry). */
  source: 'local' | 'registry';
  /** First line: what is incompatible with what; following lines: the reasons. */
  lines: string[];
}

export interface CheckReport {
  problems: ContractProblem[];
  /** Informational lines (already registered, new subject, level drift). */
  notes: string[];
  ok: boolean;
}

/** Checks schemas/ against itself: every reader its level promises can read every writer. */
export function checkLocally(manifest: SchemaManifest): ContractProblem[] {
  const problems: ContractProblem[] = [];
  for (const contract of manifest.subjects) {
    for (const { reader: ri, writer: wi } of readPairs(contract.compatibility, contract.versions.length)) {
      const reader = contract.versions[ri];
      const writer = contract.versions[wi];
      const labels = { reader: `v${reader.version}`, writer: `v${writer.version}`, readerIsNewer: ri > wi };
      const head = `${contract.subject} (${contract.compatibility}): reader v${reader.version} (${reader.file}) cannot read writer v${writer.version} (${writer.file})`;
      const issues = explainIncompatibility(reader.type, writer.type, labels);
      if (issues.length > 0) {
        problems.push({ subject: contract.subject, source: 'local', lines: [head, ...issues.map((i) => i.message)] });
        continue;
      }
      // Schema resolution can succeed while a real record still fails (e.g. a bad default).
      try {
        reader.type.fromBuffer(writer.type.toBuffer(writer.fixture), reader.type.createResolver(writer.type));
      } catch (error) {
        problems.push({
          subject: contract.subject,
          source: 'local',
          lines: [head, `the fixture ${writer.fixtureFile} does not decode: ${(error as Error).message}`],
        });
      }
    }
  }
  return problems;
}

/**
 * Asks the registry, for every schema the subject does not hold yet, whether it is compatible
 * at the subject's level, and explains each "no" locally.
 * @throws {RegistryUnreachableError} when the registry cannot be reached.
 */
export async function checkAgainstRegistry(
  manifest: SchemaManifest,
  client: RegistryClient,
  notes: string[] = [],
): Promise<ContractProblem[]> {
  await client.ping();
  const problems: ContractProblem[] = [];
  for (const contract of manifest.subjects) {
    const held = await client.versions(contract.subject);
    if (!held || held.length === 0) {
      notes.push(`${contract.subject}: new subject, ${contract.versions.length} version(s) to register`);
      continue;
    }
    const level = (await client.compatibility(contract.subject)) ?? 'NONE';
    if (level !== contract.compatibility) {
      // Not a failure: the local check holds the manifest's level; schemas:register applies it.
      notes.push(
        `${contract.subject}: the registry has compatibility ${level}, schemas/manifest.json says ${contract.compatibility}`,
      );
    }
    const known = new Set<number>();
    for (const version of contract.versions) {
      const found = await client.lookup(contract.subject, version.canonical);
      if (found) {
        known.add(found.version);
        notes.push(`${contract.subject}: ${version.file} is registered as version ${found.version}`);
        continue;
      }
      const answer = await client.testCompatibility(contract.subject, version.canonical, level);
      if (answer.compatible) {
        notes.push(
          `${contract.subject}: ${version.file} is new and compatible (${level}) with registered versions ${held.join(', ')}`,
        );
        continue;
      }
      const reasons = await explainAgainstRegistry(client, { ...contract, compatibility: level }, version);
      problems.push({
        subject: contract.subject,
        source: 'registry',
        lines: [
          `${contract.subject} (${level}): ${version.file} (v${version.version}) is not compatible with registered versions ${held.join(', ')}`,
          ...answer.messages.map((m) => `registry: ${m}`),
          ...(reasons.length > 0
            ? reasons
            : ['the registry gave no reason and the local check found none; compare the schemas by hand']),
        ],
      });
    }
    const extra = held.filter((n) => !known.has(n));
    if (extra.length > 0) {
      notes.push(
        `${contract.subject}: registered version(s) ${extra.join(', ')} have no file in schemas/ (edited or removed?)`,
      );
    }
  }
  return problems;
}

/** Renders problems for a terminal, one block per problem. */
export function formatProblems(problems: ContractProblem[]): string {
  return problems
    .map((p) => [`✗ [${p.source}] ${p.lines[0]}`, ...p.lines.slice(1).map((l) => `    - ${l}`)].join('\n'))
    .join('\n');
}
