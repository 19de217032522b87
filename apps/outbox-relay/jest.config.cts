module.exports = {
  displayName: 'outbox-relay',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // kafkajs 2.2.4 cannot encode a null header value and is slow at record batches; the app replaces
  // those two encoders through Node's module cache (src/relay/kafkajs-record-encoder.ts), which
  // Jest's own module registry ignores, so they are mapped here.
  moduleNameMapper: {
    '^\\.\\./\\.\\./\\.\\./recordBatch/record/v0$': '<rootDir>/src/relay/kafkajs-record-v0.jest.ts',
    '^\\.\\./\\.\\./\\.\\./recordBatch/v0$': '<rootDir>/src/relay/kafkajs-record-batch-v0.jest.ts',
  },
};
