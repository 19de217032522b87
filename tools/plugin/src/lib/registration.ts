import type { Tree } from '@nx/devkit';
import { addComposeTopics, addHelmTopicNames, COMPOSE_FILE, HELM_VALUES } from './deployment';
import { type ContextNames, libRoot } from './names';
import { addArrayElement, addNamedImport, readSource, stringArrayElements } from './source-edit';

/** The lint config whose `contexts` list gives each context its `scope:<name>` rule. */
export const ESLINT_CONFIG = 'eslint.config.mjs';
/** The array literal in {@link ESLINT_CONFIG} that lists the bounded contexts. */
export const CONTEXTS_ARRAY = 'contexts';
/** Where the throwaway databases' name prefixes are listed (`npm test` removes leftovers by them). */
export const TEST_DATABASE_CLEANUP = 'libs/testing/src/database-cleanup.ts';
/** The array literal in {@link TEST_DATABASE_CLEANUP}; database-cleanup.spec.ts checks it against the tests. */
export const TEST_DATABASE_PREFIXES = 'TEST_DATABASE_PREFIXES';

/** The contexts listed in eslint.config.mjs (an error if the `contexts` array is not found). */
export function registeredContexts(tree: Tree): string[] {
  return stringArrayElements(ESLINT_CONFIG, readSource(tree, ESLINT_CONFIG), CONTEXTS_ARRAY);
}

/** The import paths of a context's libs, as tsconfig.base.json maps them. */
export function contextImportPaths(names: ContextNames): Record<string, string[]> {
  const { context } = names;
  return Object.fromEntries(
    (['domain', 'contracts', 'read-model'] as const).map((layer) => [
      `@cqrs/${context}-${layer}`,
      [`./${libRoot(context, layer)}/src/index.ts`],
    ]),
  );
}

/** The prefix of the read-model int test's throwaway databases (`<prefix>_<hex>`). */
export const readTestDatabasePrefix = (names: ContextNames): string => `${names.contextSnake}_rm`;

/**
 * Edits staged on top of a tree: `read` sees what was staged before, `commit` writes it all. A
 * registration that fails half way (an anchor is missing) thus leaves the tree untouched.
 */
export class StagedFiles {
  private readonly staged = new Map<string, string>();

  constructor(private readonly tree: Tree) {}

  read(file: string): string {
    return this.staged.get(file) ?? readSource(this.tree, file);
  }

  write(file: string, text: string): void {
    if (text !== this.read(file)) this.staged.set(file, text);
  }

  /** The files whose text a commit would change. */
  get changed(): string[] {
    return [...this.staged.keys()];
  }

  commit(): void {
    for (const [file, text] of this.staged) this.tree.write(file, text);
    this.staged.clear();
  }
}

/**
 * Makes a context's libs part of the workspace: their import paths in tsconfig.base.json, the
 * context's name in the `contexts` list of eslint.config.mjs (without which its libs may use
 * shared code only), and its read-model int test's database prefix in the test-database list.
 * Idempotent.
 */
export function registerInWorkspace(files: StagedFiles, names: ContextNames): void {
  const tsconfig = JSON.parse(files.read('tsconfig.base.json')) as { compilerOptions?: { paths?: object } };
  tsconfig.compilerOptions ??= {};
  tsconfig.compilerOptions.paths = { ...tsconfig.compilerOptions.paths, ...contextImportPaths(names) };
  files.write('tsconfig.base.json', JSON.stringify(tsconfig, null, 2) + '\n');
  files.write(
    ESLINT_CONFIG,
    addArrayElement(ESLINT_CONFIG, files.read(ESLINT_CONFIG), CONTEXTS_ARRAY, `'${names.context}'`),
  );
  files.write(
    TEST_DATABASE_CLEANUP,
    addArrayElement(
      TEST_DATABASE_CLEANUP,
      files.read(TEST_DATABASE_CLEANUP),
      TEST_DATABASE_PREFIXES,
      `'${readTestDatabasePrefix(names)}'`,
      `${libRoot(names.context, 'read-model')}/src/lib/${names.context}-read-model.int.spec.ts`,
    ),
  );
}

/**
 * How one composing app learns about a context: `register` stages the edits of the app's
 * registration point (the array in its `src/contexts.ts`); it must be idempotent. The context's
 * own files in the app (`src/<context>/`) are generated from `files/<app>` beside the generator.
 */
export interface AppRegistration {
  /** The Nx project name of the app (also its folder under apps/ and its template folder). */
  app: string;
  register(files: StagedFiles, names: ContextNames): void;
}

/**
 * The registration of an app whose `src/contexts.ts` lists its contexts in the array `arrayName`,
 * each context exporting `<context>Context` from `src/<context>/<context>.context.ts`.
 */
export function contextsArrayRegistration(app: string, arrayName: string): AppRegistration {
  return {
    app,
    register(files, names) {
      const file = `apps/${app}/src/contexts.ts`;
      const element = `${names.contextCamel}Context`;
      let text = addArrayElement(file, files.read(file), arrayName, element);
      text = addNamedImport(file, text, `./${names.context}/${names.context}.context`, element);
      files.write(file, text);
    },
  };
}

/** The apps a new context is registered with, in the order their files are generated. */
export const APP_REGISTRATIONS: readonly AppRegistration[] = [
  contextsArrayRegistration('command-service', 'COMMAND_CONTEXTS'),
  contextsArrayRegistration('query-service', 'QUERY_CONTEXTS'),
  contextsArrayRegistration('projector', 'PROJECTOR_CONTEXTS'),
];

/**
 * The deployment's lists of the context's Kafka topics: the compose stack's topics job (its
 * topics and ACLs) and the chart's KafkaTopics (the event topic and its dead-letter topic).
 */
export function registerInDeployment(files: StagedFiles, names: ContextNames): void {
  files.write(COMPOSE_FILE, addComposeTopics(COMPOSE_FILE, files.read(COMPOSE_FILE), names));
  files.write(HELM_VALUES, addHelmTopicNames(HELM_VALUES, files.read(HELM_VALUES), names));
}

/**
 * Stages the registration of a new context with the workspace (paths, lint, test databases),
 * every app in {@link APP_REGISTRATIONS} and the deployment; throws, with nothing written, when
 * a file or anchor is missing. `commit()` the result to write it.
 */
export function stageRegistration(
  tree: Tree,
  names: ContextNames,
  apps: readonly AppRegistration[] = APP_REGISTRATIONS,
): StagedFiles {
  const files = new StagedFiles(tree);
  registerInWorkspace(files, names);
  for (const app of apps) app.register(files, names);
  registerInDeployment(files, names);
  return files;
}

/** Registers a new context with the workspace, the apps and the deployment (see {@link stageRegistration}). */
export function registerInApps(tree: Tree, names: ContextNames, apps: readonly AppRegistration[] = APP_REGISTRATIONS) {
  stageRegistration(tree, names, apps).commit();
}
