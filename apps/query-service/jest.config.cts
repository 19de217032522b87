module.exports = {
  displayName: 'query-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // Bridge until tsconfig.base.json maps the read model's test-only entry (asked of the lead);
  // tsconfig.spec.json carries the same mapping for the type checker.
  moduleNameMapper: { '^@cqrs/tasks-read-model/testing$': '<rootDir>/../../libs/tasks/read-model/src/testing.ts' },
};
