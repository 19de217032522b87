import { formatFiles, names as nxNames, type Tree } from '@nx/devkit';
import { contextFiles, existingContext } from '../../lib/context-files';
import { runContractsCodegen } from '../../lib/contracts-codegen';
import { assertPascalName, type ContextNames, pastTense } from '../../lib/names';
import {
  addNamedImport,
  addUnionMember,
  appendBlock,
  insertBeforeTypeAlias,
  insertCaseBeforeDefault,
  readSource,
  unionMembers,
} from '../../lib/source-edit';
import { addEvent, domainEvents } from '../event/generator';

export interface CommandGeneratorSchema {
  context: string;
  name: string;
  event?: string;
  aggregate?: string;
}

/**
 * The event a command records when none is named: the aggregate, the command's other words and
 * the past tense of its verb (`ArchiveProject` -> `ProjectArchived`, `ChangeName` -> `ProjectNameChanged`).
 */
export function defaultEvent(names: ContextNames, command: string): string {
  const words = nxNames(command).fileName.split('-');
  const aggregateWords = names.aggregateKebab.split('-');
  const at = (i: number) => words.slice(i, i + aggregateWords.length).join('-') === names.aggregateKebab;
  const rest = at(0)
    ? words.slice(aggregateWords.length)
    : at(words.length - aggregateWords.length)
      ? words.slice(0, words.length - aggregateWords.length)
      : words;
  if (rest.length === 0) throw new Error(`cannot derive an event from ${command}: name it with --event`);
  const [verb, ...others] = rest;
  return names.aggregate + nxNames([...others, pastTense(verb)].join('-')).className;
}

/**
 * `nx g @cqrs/plugin:command <context> <CommandName> [--event <EventName>]`: the command
 * (`data: { <aggregate>Id }`) in the command union, a `decide` branch that records the event for
 * the owner's existing aggregate, its input rule in `validate<Aggregate>Command`, and a decider
 * test. The event is generated first (the event generator's stub) if the domain does not have it.
 */
export async function commandGenerator(tree: Tree, options: CommandGeneratorSchema): Promise<void> {
  const command = options.name;
  assertPascalName(command, 'command');
  const names = existingContext(tree, options.context, options.aggregate);
  const { aggregate, aggregateCamel, aggregateConst, aggregateKebab } = names;
  const event = options.event ?? defaultEvent(names, command);
  assertPascalName(event, 'event');
  const files = contextFiles(names);
  const handler = nxNames(command).propertyName;

  let commands = readSource(tree, files.commands);
  if (unionMembers(files.commands, commands, `${aggregate}Command`).includes(command)) {
    throw new Error(`command ${command} exists in ${aggregate}Command`);
  }
  if (readSource(tree, files.decider).includes(`function ${handler}(`)) {
    throw new Error(`${files.decider} already has a function ${handler}`);
  }
  const newEvent = !domainEvents(tree, names).includes(event);
  if (newEvent) addEvent(tree, names, event);

  commands = insertBeforeTypeAlias(
    files.commands,
    commands,
    `${aggregate}Command`,
    `export interface ${command} {
  type: '${command}';
  data: { ${aggregateCamel}Id: string };
  metadata: CommandMetadata;
}`,
  );
  commands = addUnionMember(files.commands, commands, `${aggregate}Command`, command);

  let decider = readSource(tree, files.decider);
  decider = addNamedImport(files.decider, decider, `./${aggregateKebab}.commands`, command, true);
  decider = addNamedImport(files.decider, decider, `./${aggregateKebab}.validation`, `${aggregateCamel}IdInput`);
  decider = insertCaseBeforeDefault(
    files.decider,
    decider,
    'decide',
    'command.type',
    `    case '${command}':
      return ${handler}(command, state);`,
  );
  decider = insertCaseBeforeDefault(
    files.decider,
    decider,
    `validate${aggregate}Command`,
    'command.type',
    `    case '${command}':
      return ${aggregateCamel}IdInput(command.data);`,
  );
  decider = appendBlock(
    decider,
    `function ${handler}({ data, metadata }: ${command}, state: ${aggregate}): ${aggregate}Event[] {
  ${aggregateCamel}IdInput(data);
  const ${aggregateCamel} = owned${aggregate}(data.${aggregateCamel}Id, state, metadata.actor);
  return [{ type: '${event}', data: { ${aggregateCamel}Id: ${aggregateCamel}.${aggregateCamel}Id, occurredAt: metadata.now } }];
}`,
  );

  let spec = readSource(tree, files.deciderSpec);
  spec = addNamedImport(files.deciderSpec, spec, `./${aggregateKebab}.commands`, command, true);
  spec = appendBlock(
    spec,
    `describe('${command}', () => {
  const command: ${command} = { type: '${command}', data: { ${aggregateCamel}Id: ${aggregateConst}_ID }, metadata };

  it("records ${event} for the owner's ${aggregateKebab.replace(/-/g, ' ')}", () => {
    given([created])
      .when(command)
      .then([{ type: '${event}', data: { ${aggregateCamel}Id: ${aggregateConst}_ID, occurredAt: NOW } }]);
  });

  it("answers ${aggregateConst}_NOT_FOUND when there is none, or it is someone else's", () => {
    given([]).when(command).thenThrows('${aggregateConst}_NOT_FOUND');
    given([created])
      .when({ ...command, metadata: { ...metadata, actor: 'user-7' } })
      .thenThrows('${aggregateConst}_NOT_FOUND');
  });

  it('answers VALIDATION_FAILED for a blank id', () => {
    given([created])
      .when({ ...command, data: { ${aggregateCamel}Id: ' ' } })
      .thenThrows('VALIDATION_FAILED');
  });
});`,
  );

  tree.write(files.commands, commands);
  tree.write(files.decider, decider);
  tree.write(files.deciderSpec, spec);
  await formatFiles(tree);
  if (newEvent) runContractsCodegen(tree, names.context, contextFiles(names).generated);
}

export default commandGenerator;
