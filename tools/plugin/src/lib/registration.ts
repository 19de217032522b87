import { type Tree, updateJson } from '@nx/devkit';
import { type ContextNames, libRoot } from './names';
import { addArrayElement, readSource, stringArrayElements } from './source-edit';

/** The lint config whose `contexts` list gives each context its `scope:<name>` rule. */
export const ESLINT_CONFIG = 'eslint.config.mjs';
/** The array literal in {@link ESLINT_CONFIG} that lists the bounded contexts. */
export const CONTEXTS_ARRAY = 'contexts';

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

/**
 * Makes a context's libs part of the workspace: their import paths in tsconfig.base.json and the
 * context's name in the `contexts` list of eslint.config.mjs (without which its libs may use
 * shared code only). Idempotent.
 */
export function registerInWorkspace(tree: Tree, names: ContextNames): void {
  updateJson(tree, 'tsconfig.base.json', (json) => {
    json.compilerOptions ??= {};
    json.compilerOptions.paths = { ...json.compilerOptions.paths, ...contextImportPaths(names) };
    return json;
  });
  const text = readSource(tree, ESLINT_CONFIG);
  tree.write(ESLINT_CONFIG, addArrayElement(ESLINT_CONFIG, text, CONTEXTS_ARRAY, `'${names.context}'`));
}

/**
 * How one composing app learns about a context: `register` edits the app's registration point
 * (e.g. the array in its `src/contexts.ts`, with {@link addArrayElement}) and must be idempotent.
 */
export interface AppRegistration {
  /** The Nx project name of the app. */
  app: string;
  register(tree: Tree, names: ContextNames): void;
}

/**
 * The apps a new context is registered with. Empty while the apps' registration points are being
 * made generic; each app then gets one entry here, and `registerInApps` runs it.
 */
export const APP_REGISTRATIONS: readonly AppRegistration[] = [];

/** Registers a new context with the workspace (paths, lint) and with every app in {@link APP_REGISTRATIONS}. */
export function registerInApps(tree: Tree, names: ContextNames, apps: readonly AppRegistration[] = APP_REGISTRATIONS) {
  registerInWorkspace(tree, names);
  for (const app of apps) app.register(tree, names);
}
