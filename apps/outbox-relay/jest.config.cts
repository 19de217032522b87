module.exports = {
  displayName: 'outbox-relay',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // The app replaces parts of kafkajs 2.2.4 through Node's module cache and patches others on the
  // loaded modules (src/relay/kafkajs-fast-path.ts). Jest keeps its own module registry, so the
  // cached replacements are mapped here and the patches are applied to Jest's copies by a setup
  // file: tests run the relay with the same kafkajs as the app.
  moduleNameMapper: {
    '^\\.\\./\\.\\./\\.\\./recordBatch/record/v0$': '<rootDir>/src/relay/kafkajs-record-v0.jest.ts',
    '^\\.\\./\\.\\./\\.\\./recordBatch/v0$': '<rootDir>/src/relay/kafkajs-record-batch-v0.jest.ts',
    '^\\./groupMessagesPerPartition$': '<rootDir>/src/relay/kafkajs-grouping.jest.ts',
  },
  setupFiles: ['<rootDir>/src/relay/kafkajs-produce.jest.ts'],
};
