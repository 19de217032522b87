import { names as nxNames, type Tree, updateJson } from '@nx/devkit';
import type { ContextNames } from './names';

/** Where the manifest lists every schema (tools/schemas reads it). */
export const MANIFEST = 'schemas/manifest.json';

interface ManifestEntry {
  schema: string;
  topic: string;
  subject: string;
  compatibility?: string;
}

/** A payload field of an event: its Avro field and the fixture's value for it. */
export interface PayloadField {
  name: string;
  type: unknown;
  doc: string;
  fixture: unknown;
}

/** `ProjectArchived` -> `project-archived`. */
export const eventFileName = (event: string): string => nxNames(event).fileName;

/** The registry subject of an event (TopicRecordNameStrategy: `<topic>-<record full name>`). */
export const eventSubject = (names: ContextNames, event: string): string =>
  `${names.topic}-${names.namespace}.${event}`;

/** Whether the manifest already has a subject for `event` in this context. */
export function eventInManifest(tree: Tree, names: ContextNames, event: string): boolean {
  const manifest = JSON.parse(tree.read(MANIFEST, 'utf-8') ?? '{"schemas":[]}') as { schemas: ManifestEntry[] };
  return manifest.schemas.some((s) => s.subject === eventSubject(names, event));
}

/**
 * The `.v1.avsc` of a new event with the envelope every event carries (the fields the outbox
 * relay fills in, as in schemas/tasks), its fixture beside it, and its manifest entry.
 */
export function addEventSchema(
  tree: Tree,
  names: ContextNames,
  event: string,
  doc: string,
  payload: readonly PayloadField[] = [],
  fixtureVersion = 1,
): void {
  const what = nxNames(names.aggregate).fileName.replace(/-/g, ' ');
  const file = `${eventFileName(event)}.v1`;
  const envelope: PayloadField[] = [
    {
      name: 'eventId',
      type: { type: 'string', logicalType: 'uuid' },
      doc: 'Unique id of this event (UUID). Consumers deduplicate on it.',
      fixture: '1b4e28ba-2fa1-41d2-883f-0016d3cca427',
    },
    {
      name: 'aggregateId',
      type: 'string',
      doc: `Id of the ${what} the event belongs to; also the Kafka message key.`,
      fixture: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    },
    {
      name: 'aggregateVersion',
      type: 'long',
      doc: `Version of the ${what}'s stream after this event: 1 for its first event, then +1 per event.`,
      fixture: fixtureVersion,
    },
    {
      name: 'occurredAt',
      type: { type: 'long', logicalType: 'timestamp-millis' },
      doc: 'When the change happened, in milliseconds since the Unix epoch (UTC).',
      fixture: 1767225600000,
    },
    {
      name: 'correlationId',
      type: ['null', 'string'],
      doc: 'Id shared by everything one request caused; null when the request carried none.',
      fixture: '6fa459ea-ee8a-4ca4-894e-db77e160355e',
    },
    {
      name: 'causationId',
      type: ['null', 'string'],
      doc: 'Id of the command (or event) that caused this event; null when unknown.',
      fixture: '16fd2706-8baf-433b-82eb-8c7fada847da',
    },
  ];
  const fields = [...envelope, ...payload];
  const schema = {
    type: 'record',
    name: event,
    namespace: names.namespace,
    doc,
    fields: fields.map(({ name, type, doc }) =>
      // a nullable field defaults to null, so a later version may drop it (FULL_TRANSITIVE)
      Array.isArray(type) && type[0] === 'null' ? { name, type, default: null, doc } : { name, type, doc },
    ),
  };
  tree.write(`${names.schemaDir}/${file}.avsc`, JSON.stringify(schema, null, 2) + '\n');
  const fixture = Object.fromEntries(fields.map((f) => [f.name, f.fixture]));
  tree.write(`${names.schemaDir}/fixtures/${file}.json`, JSON.stringify(fixture, null, 2) + '\n');
  updateJson(tree, MANIFEST, (manifest: { schemas: ManifestEntry[] }) => {
    manifest.schemas.push({
      schema: `${names.schemaDir.slice('schemas/'.length)}/${file}.avsc`,
      topic: names.topic,
      subject: eventSubject(names, event),
    });
    return manifest;
  });
}
