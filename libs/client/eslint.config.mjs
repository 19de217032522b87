import { builtinModules } from 'node:module';
import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // The client runs in browsers: no Node module in its source (the codegen script is Node's).
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: builtinModules, patterns: [{ group: ['node:*'], message: 'The client runs in browsers.' }] },
      ],
    },
  },
];
