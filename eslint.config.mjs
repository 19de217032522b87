import nx from '@nx/eslint-plugin';

/**
 * Module boundaries (docs/architecture.md §12). Every project carries exactly one `scope:*` and one
 * `type:*` tag; an import must satisfy the rule of *both* tags of the importing project. Proven by
 * tools/workspace/src/module-boundaries.spec.ts.
 *
 * Scopes (who may meet whom):
 * - `scope:<context>`: the libs of one bounded context. Itself, shared code and the published contracts
 *   of other contexts (`published:*`), never another context's domain or read model.
 * - `scope:shared`: generic libs, the tools and the outbox relay (which routes by aggregate type and
 *   knows no context). Shared code only.
 * - `scope:app`: the composition roots, i.e. the apps that wire contexts to infrastructure
 *   (command-service, query-service, projector) and their system tests (system-e2e). Any scope: they
 *   are the one place where two contexts may meet in code.
 *
 * Published contracts: a context's contracts lib (the generated types and schemas of its events) also
 * carries `published:<context>`. It is the one lib of a context that another context may import, to
 * consume its events from Kafka; no other kind of lib carries a `published:*` tag.
 *
 * Types (layers): pure code is `type:domain` and `type:util` (util, config, the generated contracts),
 * both with banned framework imports. Infrastructure is split by kind: `type:data-access` (Postgres),
 * `type:messaging` (Kafka, schema registry), `type:http` (Nest HTTP app factory) and
 * `type:observability` (OpenTelemetry, metrics, logs). Then `type:app` (a deployable process),
 * `type:e2e` (tests of built apps and deployment artefacts) and `type:testing` (test infrastructure,
 * usable by test code only). The tools carry the type of what they are: dev-issuer (a token issuer for
 * development and tests) and workspace `type:testing`, deploy `type:e2e`, schema-tools (the schema
 * registry CLI) `type:messaging`.
 */

/** The bounded contexts; a new one is a `scope:<name>` tag on its libs plus its name here. */
const contexts = ['tasks', 'projects'];

/** Packages that tie code to a framework or to infrastructure: pure code may not import them. */
const frameworkImports = [
  '@nestjs/*',
  'express',
  'typeorm',
  'pg',
  'pg-*',
  'kafkajs',
  '@kafkajs/*',
  '@opentelemetry/*',
  'prom-client',
  'pino',
  'pino-*',
  'nestjs-pino',
  'testcontainers',
];

const pureTypes = ['type:domain', 'type:util'];
const infrastructureTypes = ['type:data-access', 'type:messaging', 'type:http', 'type:observability'];
const libTypes = [...pureTypes, ...infrastructureTypes];

export const depConstraints = [
  // scopes
  ...contexts.map((c) => ({
    sourceTag: `scope:${c}`,
    onlyDependOnLibsWithTags: [`scope:${c}`, 'scope:shared', 'published:*'],
  })),
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:app', onlyDependOnLibsWithTags: ['scope:*'] },
  // Fail-safe: a scope tag not listed above (a new context missing from `contexts`) gets shared code
  // only, so its own libs cannot even use each other until it is registered, and never another context.
  {
    sourceTag: `/^scope:(?!(${[...contexts, 'shared', 'app'].join('|')})$)/`,
    onlyDependOnLibsWithTags: ['scope:shared'],
  },
  // types: pure code
  {
    sourceTag: 'type:domain',
    onlyDependOnLibsWithTags: ['type:domain', 'type:util'],
    // the Avro codec too: serialization belongs to the contracts and messaging, not to decide/evolve
    bannedExternalImports: [...frameworkImports, 'avsc'],
  },
  // (avsc stays allowed: the contracts lib, pure generated types and schemas, is checked with it)
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'], bannedExternalImports: frameworkImports },
  // types: infrastructure, split by kind
  { sourceTag: 'type:observability', onlyDependOnLibsWithTags: ['type:observability', 'type:util'] },
  { sourceTag: 'type:http', onlyDependOnLibsWithTags: ['type:http', 'type:observability', 'type:util'] },
  { sourceTag: 'type:messaging', onlyDependOnLibsWithTags: ['type:messaging', 'type:observability', 'type:util'] },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:messaging', 'type:observability', 'type:util'],
  },
  // types: processes and tests
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: libTypes },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: [...libTypes, 'type:testing'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: [...libTypes, 'type:testing'] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/node_modules', '**/out-tsc', '.local-stack/**', '**/webpack.config.js'] },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts'],
    // Typed linting: each file is checked with the types of the tsconfig that includes it (a
    // project's tsconfig.json references its lib/app and spec configs, which include jest.config.cts).
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // a promise nobody awaits loses its rejection, and an unhandled rejection ends the process
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Source code (the only *.cts files are the Jest configs, which require the root preset by path).
  {
    files: ['**/*.ts', '**/*.mts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: true, allow: [], depConstraints }],
      'no-console': 'error',
    },
  },
  // Tests and their helpers may use the testing libs (fixtures, infrastructure) whatever the layer they test.
  {
    files: ['**/*.spec.ts', '**/src/testing/**/*.{ts,mts}', '**/src/testing.ts', '**/e2e/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: depConstraints.map((c) =>
            c.sourceTag.startsWith('type:')
              ? { ...c, onlyDependOnLibsWithTags: [...c.onlyDependOnLibsWithTags, 'type:testing'] }
              : c,
          ),
        },
      ],
    },
  },
  // scripts and CLIs own their stdout
  { files: ['tools/**', 'bench/**', '**/*.cli.ts', '**/cli/**'], rules: { 'no-console': 'off' } },
];
