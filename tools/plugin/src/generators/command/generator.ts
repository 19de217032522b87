import { formatFiles, names as nxNames, type Tree } from '@nx/devkit';
import { commandServiceFiles, contextFiles, existingContext } from '../../lib/context-files';
import { runContractsCodegen } from '../../lib/contracts-codegen';
import { assertPascalName, type ContextNames, pastTense } from '../../lib/names';
import {
  addArrayElement,
  addClassMember,
  addNamedImport,
  addUnionMember,
  appendBlock,
  classMemberNames,
  insertBeforeDeclaration,
  insertBeforeTypeAlias,
  insertCaseBeforeDefault,
  readSource,
  topLevelDeclarations,
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
 * A command's words without its aggregate's, where they lead or trail (`ArchiveProject` ->
 * `archive`, `ChangeName` -> `change-name`, `AddTaskToProject` -> `add-task-to`), kebab case.
 */
function actionWords(names: ContextNames, command: string): string[] {
  const words = nxNames(command).fileName.split('-');
  const aggregateWords = names.aggregateKebab.split('-');
  const at = (i: number) => words.slice(i, i + aggregateWords.length).join('-') === names.aggregateKebab;
  return at(0)
    ? words.slice(aggregateWords.length)
    : at(words.length - aggregateWords.length)
      ? words.slice(0, words.length - aggregateWords.length)
      : words;
}

/**
 * The event a command records when none is named: the aggregate, the command's other words and
 * the past tense of its verb (`ArchiveProject` -> `ProjectArchived`, `ChangeName` -> `ProjectNameChanged`).
 */
export function defaultEvent(names: ContextNames, command: string): string {
  const rest = actionWords(names, command);
  if (rest.length === 0) throw new Error(`cannot derive an event from ${command}: name it with --event`);
  const [verb, ...others] = rest;
  return names.aggregate + nxNames([...others, pastTense(verb)].join('-')).className;
}

/** The path segment of a command's route, `POST /<context>/:id/<segment>`: `ArchiveProject` -> `archive`. */
export function commandRouteSegment(names: ContextNames, command: string): string {
  const rest = actionWords(names, command);
  if (rest.length === 0) throw new Error(`cannot name a route after ${command}: it has no words but the aggregate's`);
  return rest.join('-');
}

/**
 * The command service's edits for a command, computed without writing: its message class and
 * handler (listed in `<AGGREGATE>_COMMAND_HANDLERS`) and a body-less route
 * `POST /<context>/:id/<segment>` that dispatches it with the id alone. Refuses a command whose
 * class, handler, method or route the app has already.
 */
function commandServiceEdits(tree: Tree, names: ContextNames, command: string): Record<string, string> {
  const app = commandServiceFiles(tree, names);
  if (!app) return {};
  const { aggregate, aggregateCamel, aggregateConst, aggregateKebab, context, contextPascal } = names;
  const segment = commandRouteSegment(names, command);
  const method = nxNames(segment).propertyName;
  const route = `POST /${context}/:id/${segment}`;
  const handlers = `${aggregateConst}_COMMAND_HANDLERS`;
  const controllerClass = `${contextPascal}Controller`;

  let commands = readSource(tree, app.commands);
  const declared = topLevelDeclarations(app.commands, commands);
  const taken = [`${command}Command`, `${command}Handler`].filter((n) => declared.includes(n));
  if (taken.length > 0) throw new Error(`${app.commands} already declares ${taken.join(' and ')}`);
  let controller = readSource(tree, app.controller);
  if (classMemberNames(app.controller, controller, controllerClass).includes(method)) {
    throw new Error(`${app.controller}: ${controllerClass} already has a method ${method}`);
  }
  if (controller.includes(`'${route}'`)) throw new Error(`${app.controller} already has a route ${route}`);

  commands = addNamedImport(app.commands, commands, `@cqrs/${context}-domain`, command, true);
  commands = insertBeforeDeclaration(
    app.commands,
    commands,
    handlers,
    `export class ${command}Command extends CommandMessage<${command}> {}

@CommandHandler(${command}Command)
export class ${command}Handler extends ${aggregate}CommandHandler<${command}Command> {}`,
  );
  commands = addArrayElement(app.commands, commands, handlers, `${command}Handler`);

  controller = addNamedImport(app.controller, controller, '@cqrs/http', 'UuidParam');
  controller = addNamedImport(app.controller, controller, '@nestjs/swagger', 'ApiOkResponse');
  controller = addNamedImport(app.controller, controller, `./${aggregateKebab}-commands`, `${command}Command`);
  controller = addClassMember(
    app.controller,
    controller,
    controllerClass,
    `  @Post(':id/${segment}')
  @HttpCode(200)
  @CommandType('${command}')
  @ApiOkResponse({ type: ${aggregate}CommandResponseDto })
  @docs.existing
  ${method}(
    @CurrentPrincipal() caller: Principal,
    @UuidParam('id') id: string,
    @Headers() headers: RequestHeaders,
    @Res({ passthrough: true }) res: Response,
  ): Promise<${aggregate}CommandResponse> {
    return dispatchCommand(this.bus, res, {
      message: ${command}Command,
      command: { type: '${command}', data: { ${aggregateCamel}Id: id }, metadata: commandMetadata(caller) },
      route: '${route}',
      caller,
      headers,
      params: { id },
    });
  }`,
  );
  return { [app.commands]: commands, [app.controller]: controller };
}

/**
 * `nx g @cqrs/plugin:command <context> <CommandName> [--event <EventName>]`: the command
 * (`data: { <aggregate>Id }`) in the command union, a `decide` branch that records the event for
 * the owner's existing aggregate, its input rule in `validate<Aggregate>Command`, and a decider
 * test; in the command service, if it hosts the context, the command's message class, handler and
 * route (`POST /<context>/:id/<segment>`, no body). The event is generated first (the event
 * generator's stub) if the domain does not have it.
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
  const app = commandServiceEdits(tree, names, command);
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
  for (const [file, text] of Object.entries(app)) tree.write(file, text);
  await formatFiles(tree);
  if (newEvent) runContractsCodegen(tree, names.context, contextFiles(names).generated);
}

export default commandGenerator;
