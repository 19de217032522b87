module.exports = {
  displayName: 'projector',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // Bridge until tsconfig.base.json maps these entries (asked of the lead); tsconfig.app.json and
  // tsconfig.spec.json carry the same mappings for the compiler.
  moduleNameMapper: {
    '^@cqrs/tasks-read-model/testing$': '<rootDir>/../../libs/tasks/read-model/src/testing.ts',
    '^@cqrs/messaging/consumer$': '<rootDir>/../../libs/shared/messaging/src/consumer/index.ts',
  },
};
