import nx from '@nx/eslint-plugin';

/**
 * Module boundaries (docs/architecture.md §1). Every project carries `scope:*` and `type:*`;
 * a dependency must satisfy the rule of *both* tags. Domain libs stay framework-free.
 */
const frameworkImports = [
  '@nestjs/*',
  'typeorm',
  'pg',
  'kafkajs',
  '@kafkajs/*',
  '@opentelemetry/*',
  'pino',
  'nestjs-pino',
];

export const depConstraints = [
  // scopes: a bounded context may use itself and shared code, never another context
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:tasks', onlyDependOnLibsWithTags: ['scope:tasks', 'scope:shared'] },
  // types: layering
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:domain', 'type:data-access', 'type:messaging', 'type:util'],
  },
  { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:testing', 'type:util', 'type:messaging', 'type:domain'] },
  {
    sourceTag: 'type:domain',
    onlyDependOnLibsWithTags: ['type:domain', 'type:util'],
    bannedExternalImports: frameworkImports,
  },
  {
    sourceTag: 'type:data-access',
    onlyDependOnLibsWithTags: ['type:data-access', 'type:domain', 'type:messaging', 'type:util'],
  },
  { sourceTag: 'type:messaging', onlyDependOnLibsWithTags: ['type:messaging', 'type:util'] },
  { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: ['type:testing', 'type:data-access', 'type:messaging', 'type:domain', 'type:util'],
  },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/node_modules', '**/out-tsc', '.local-stack/**', '**/webpack.config.js'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: true, allow: [], depConstraints }],
      'no-console': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Tests and their helpers may use the testing libs (fixtures, infrastructure) whatever the layer they test.
  {
    files: ['**/*.spec.ts', '**/src/testing/**/*.ts', '**/src/testing.ts', '**/e2e/**/*.ts'],
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
