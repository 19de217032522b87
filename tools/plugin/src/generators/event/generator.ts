import { formatFiles, names as nxNames, type Tree } from '@nx/devkit';
import { commandServiceFiles, contextFiles, existingContext } from '../../lib/context-files';
import { runContractsCodegen } from '../../lib/contracts-codegen';
import { addEventSchema, eventInManifest, MANIFEST } from '../../lib/event-schema';
import { assertPascalName, type ContextNames } from '../../lib/names';
import {
  addNamedImport,
  addUnionMember,
  appendBlock,
  insertBeforeTypeAlias,
  insertCaseBeforeDefault,
  readSource,
  unionMembers,
} from '../../lib/source-edit';

export interface EventGeneratorSchema {
  context: string;
  name: string;
  aggregate?: string;
}

/** The domain events of the context's aggregate (the members of `<Aggregate>Event`). */
export function domainEvents(tree: Tree, names: ContextNames): string[] {
  const file = contextFiles(names).events;
  return unionMembers(file, readSource(tree, file), `${names.aggregate}Event`);
}

/** `ProjectArchived` -> `A project was archived.`; an event not named after its aggregate -> `Name changed.` */
function eventDoc(names: ContextNames, event: string): string {
  const words = nxNames(event).fileName.split('-');
  const aggregateWords = names.aggregateKebab.split('-');
  const rest = words.slice(aggregateWords.length);
  if (words.slice(0, aggregateWords.length).join('-') === names.aggregateKebab && rest.length > 0) {
    return `A ${aggregateWords.join(' ')} was ${rest.join(' ')}.`;
  }
  return `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}.`;
}

/**
 * Adds `event` to a context: its Avro schema (the envelope only), fixture and manifest entry; the
 * domain event (`data: { <aggregate>Id, occurredAt }`) in the events union with a case in `evolve`
 * that only stamps `updatedAt`; a case in the projection's `apply` that only moves the view's
 * version, and its test; in the command service, if it hosts the context, a case in the mapping to
 * the contract record (the envelope only), without which its exhaustive switch stops compiling.
 * Every edit is computed before anything is written. The caller formats and reruns the contracts
 * codegen.
 */
export function addEvent(tree: Tree, names: ContextNames, event: string): void {
  assertPascalName(event, 'event');
  const { aggregate, aggregateCamel, aggregateConst, viewsTable } = names;
  if (eventInManifest(tree, names, event)) throw new Error(`event ${event} exists: ${MANIFEST} lists its subject`);
  if (domainEvents(tree, names).includes(event)) throw new Error(`event ${event} exists in ${aggregate}Event`);
  const files = contextFiles(names);

  let events = readSource(tree, files.events);
  events = insertBeforeTypeAlias(
    files.events,
    events,
    `${aggregate}Event`,
    `export interface ${event} {
  type: '${event}';
  data: { ${aggregateCamel}Id: string; occurredAt: string };
}`,
  );
  events = addUnionMember(files.events, events, `${aggregate}Event`, event);

  const state = insertCaseBeforeDefault(
    files.state,
    readSource(tree, files.state),
    'evolve',
    'event.type',
    `    case '${event}':
      if (state.status === 'none') throw corrupt(event, state);
      return { ...state, updatedAt: event.data.occurredAt };`,
  );

  let projection = insertCaseBeforeDefault(
    files.projection,
    readSource(tree, files.projection),
    `apply${aggregate}Event`,
    'event.type',
    `    case '${event}': {
      // Until ${event} changes a column of the view, it moves the row's version and time only.
      const data = event.data as ${event};
      await tx.query(\`UPDATE ${viewsTable} SET version = $2, updated_at = $3 WHERE id = $1 AND version < $2\`, [
        event.streamId,
        event.version,
        new Date(data.occurredAt),
      ]);
      return;
    }`,
  );
  projection = addNamedImport(files.projection, projection, `@cqrs/${names.context}-contracts`, event, true);

  const projectionSpec = appendBlock(
    readSource(tree, files.projectionSpec),
    `describe('${event}', () => {
  it("moves the view to the event's version and time", async () => {
    const { tx, calls } = fakeTx();
    await ${names.contextCamel}Projection.apply(tx, projected('${event}', 2));
    expect(calls).toEqual([
      {
        text: expect.stringContaining('UPDATE ${viewsTable}'),
        values: [${aggregateConst}_ID, 2, new Date(OCCURRED_AT)],
      },
    ]);
  });
});`,
  );

  const app = commandServiceFiles(tree, names);
  const mapping =
    app &&
    insertCaseBeforeDefault(
      app.mapping,
      readSource(tree, app.mapping),
      `to${aggregate}ContractRecord`,
      'event.type',
      `    case '${event}':
      return { eventType: '${event}', value: { ...base, occurredAt: millis(event.data.occurredAt) } };`,
    );

  tree.write(files.events, events);
  tree.write(files.state, state);
  if (app && mapping) tree.write(app.mapping, mapping);
  tree.write(files.projection, projection);
  tree.write(files.projectionSpec, projectionSpec);
  addEventSchema(tree, names, event, eventDoc(names, event), [], 2);
}

/** `nx g @cqrs/plugin:event <context> <EventName>`. */
export async function eventGenerator(tree: Tree, options: EventGeneratorSchema): Promise<void> {
  const names = existingContext(tree, options.context, options.aggregate);
  addEvent(tree, names, options.name);
  await formatFiles(tree);
  runContractsCodegen(tree, names.context, contextFiles(names).generated);
}

export default eventGenerator;
