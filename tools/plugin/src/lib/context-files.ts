import type { Tree } from '@nx/devkit';
import { appContextRoot, type ContextNames, contextNames, libRoot, assertContextName } from './names';

/** The files of a generated context that the event and command generators edit. */
export interface ContextFiles {
  commands: string;
  events: string;
  state: string;
  decider: string;
  deciderSpec: string;
  projection: string;
  projectionSpec: string;
  /** Output folder of the contracts codegen. */
  generated: string;
}

export function contextFiles(names: ContextNames): ContextFiles {
  const domain = `${libRoot(names.context, 'domain')}/src/lib/${names.aggregateKebab}`;
  const projection = `${libRoot(names.context, 'read-model')}/src/lib/${names.aggregateKebab}-view.projection`;
  return {
    commands: `${domain}.commands.ts`,
    events: `${domain}.events.ts`,
    state: `${domain}.state.ts`,
    decider: `${domain}.decider.ts`,
    deciderSpec: `${domain}.decider.spec.ts`,
    projection: `${projection}.ts`,
    projectionSpec: `${projection}.spec.ts`,
    generated: `${libRoot(names.context, 'contracts')}/src/generated`,
  };
}

/**
 * The names of a context made by the `context` generator. Its aggregate is the one whose
 * `<aggregate>.decider.ts` the domain lib holds, unless `aggregate` says which.
 */
export function existingContext(tree: Tree, context: string, aggregate?: string): ContextNames {
  assertContextName(context);
  const lib = `${libRoot(context, 'domain')}/src/lib`;
  if (!tree.exists(lib)) {
    throw new Error(`no context "${context}": ${lib} does not exist (create it with \`nx g @cqrs/plugin:context\`)`);
  }
  let names: ContextNames;
  if (aggregate) {
    names = contextNames(context, aggregate);
  } else {
    const deciders = tree.children(lib).filter((f) => f.endsWith('.decider.ts'));
    if (deciders.length !== 1) {
      throw new Error(`${lib} holds ${deciders.length} *.decider.ts files: name the aggregate with --aggregate`);
    }
    const kebab = deciders[0].slice(0, -'.decider.ts'.length);
    names = contextNames(
      context,
      kebab.replace(/(^|-)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase()),
    );
  }
  const missing = Object.values(contextFiles(names)).filter((f) => !tree.exists(f));
  if (missing.length > 0) {
    throw new Error(
      `context "${context}" (aggregate ${names.aggregate}) lacks what the generators edit: ${missing.join(', ')}`,
    );
  }
  return names;
}

/** The files of a context in the command service that the event and command generators edit. */
export interface CommandServiceFiles {
  /** `to<Aggregate>ContractRecord`: a case per event. */
  mapping: string;
  /** A message class and handler per command, listed in `<AGGREGATE>_COMMAND_HANDLERS`. */
  commands: string;
  /** A route per command. */
  controller: string;
}

/**
 * The command service's files of a context, or null when the app does not host it (its folder
 * is absent: a context generated before the generators wrote app code). A folder that lacks one
 * of them is an error: the app's code would no longer compile after the edit it misses.
 */
export function commandServiceFiles(tree: Tree, names: ContextNames): CommandServiceFiles | null {
  const root = appContextRoot('command-service', names.context);
  if (!tree.exists(root)) return null;
  const files: CommandServiceFiles = {
    mapping: `${root}/${names.aggregateKebab}-event.mapping.ts`,
    commands: `${root}/${names.aggregateKebab}-commands.ts`,
    controller: `${root}/${names.context}.controller.ts`,
  };
  const missing = Object.values(files).filter((f) => !tree.exists(f));
  if (missing.length > 0) {
    throw new Error(`${root} lacks what the generators edit: ${missing.join(', ')}`);
  }
  return files;
}
