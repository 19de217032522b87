// Shared Jest preset: SWC for speed (keeps decorator metadata for NestJS), Nx's resolver for the
// tsconfig path aliases. Which files run is decided by the tier target in nx.json
// (test = unit *.spec.ts, int = *.int.spec.ts, e2e = e2e/**/*.e2e.spec.ts).
const nxPreset = require('@nx/jest/preset').default;

module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/e2e/**/*.spec.ts'],
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  // ESM-only packages we use must be transformed to CommonJS for Jest.
  transformIgnorePatterns: ['/node_modules/(?!(p-retry|is-network-error|jose)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
};
