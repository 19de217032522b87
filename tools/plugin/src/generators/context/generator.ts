import { join } from 'node:path';
import { formatFiles, generateFiles, type Tree } from '@nx/devkit';
import { contextFiles } from '../../lib/context-files';
import { runContractsCodegen } from '../../lib/contracts-codegen';
import { addEventSchema, MANIFEST } from '../../lib/event-schema';
import { appContextRoot, type ContextNames, contextNames, libRoot } from '../../lib/names';
import { APP_REGISTRATIONS, contextImportPaths, registeredContexts, stageRegistration } from '../../lib/registration';

export interface ContextGeneratorSchema {
  name: string;
  aggregate?: string;
}

/** Everything a template may use: the names, plus spellings only templates need. */
export function templateValues(names: ContextNames, migrationTimestamp: number) {
  return {
    ...names,
    aggregateWords: names.aggregateKebab.replace(/-/g, ' '),
    migrationTimestamp,
    tmpl: '',
  };
}

/** Refuses a context that exists in any form, before anything is written. */
function assertNew(tree: Tree, names: ContextNames): void {
  const { context } = names;
  const taken = [
    tree.exists(`libs/${context}`) && `libs/${context} exists`,
    tree.exists(`schemas/${context}`) && `schemas/${context} exists`,
    registeredContexts(tree).includes(context) && `eslint.config.mjs already lists it in \`contexts\``,
    Object.keys(contextImportPaths(names)).some((path) =>
      Object.keys(
        (JSON.parse(tree.read('tsconfig.base.json', 'utf-8') ?? '{}') as { compilerOptions?: { paths?: object } })
          .compilerOptions?.paths ?? {},
      ).includes(path),
    ) && `tsconfig.base.json already maps @cqrs/${context}-*`,
    !tree.exists(MANIFEST) && `${MANIFEST} is missing`,
    // a folder or module of the app's own (`commands`, `config`) would be shadowed or overwritten
    ...APP_REGISTRATIONS.flatMap(({ app }) =>
      [appContextRoot(app, context), `${appContextRoot(app, context)}.ts`]
        .filter((path) => tree.exists(path))
        .map((path) => `${path} exists`),
    ),
  ].filter(Boolean);
  if (taken.length > 0) throw new Error(`cannot create context "${context}": ${taken.join('; ')}`);
}

/**
 * `nx g @cqrs/plugin:context <name> [--aggregate <Name>]`: the domain, contracts and read-model
 * libs of a new bounded context, its first event's schema (`<Aggregate>Created`) with the
 * contracts generated from it, its files in each app (`files/<app>` into `apps/<app>/src/<name>`),
 * and its registration (import paths, lint rule, test databases, the apps' `contexts.ts`, the
 * deployment's topics).
 */
export async function contextGenerator(tree: Tree, options: ContextGeneratorSchema): Promise<void> {
  const names = contextNames(options.name, options.aggregate);
  assertNew(tree, names);
  // Staged first: a file or anchor it cannot find fails the run before anything is written.
  const registration = stageRegistration(tree, names);
  const values = templateValues(names, Date.now());
  for (const layer of ['domain', 'contracts', 'read-model'] as const) {
    generateFiles(tree, join(__dirname, 'files', layer), libRoot(names.context, layer), values);
  }
  for (const { app } of APP_REGISTRATIONS) {
    generateFiles(tree, join(__dirname, 'files', app), appContextRoot(app, names.context), values);
  }
  addEventSchema(tree, names, `${names.aggregate}Created`, `A ${values.aggregateWords} was created.`, [
    {
      name: 'ownerId',
      type: 'string',
      doc: `Id of the user who owns the ${values.aggregateWords}.`,
      fixture: 'user-42',
    },
    {
      name: 'name',
      type: 'string',
      doc: 'Its name, 1 to 200 characters.',
      fixture: `First ${values.aggregateWords}`,
    },
  ]);
  registration.commit();
  await formatFiles(tree);
  // After formatting: codegen output is checked byte for byte, and Prettier leaves it alone.
  runContractsCodegen(tree, names.context, contextFiles(names).generated);
}

export default contextGenerator;
