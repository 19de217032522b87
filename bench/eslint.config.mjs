import baseConfig from '../eslint.config.mjs';

export default [
  ...baseConfig,
  // The benchmarks themselves are not lint-clean yet (relative imports of libs' testing entry
  // points, unused imports): lint covers the report and its test until they are.
  { ignores: ['*.bench.ts', 'transport.ts'] },
  // as the root config means for bench/** (its globs are relative to this directory here)
  { files: ['**/*.ts'], rules: { 'no-console': 'off' } },
];
