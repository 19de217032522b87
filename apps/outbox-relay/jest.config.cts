module.exports = {
  displayName: 'outbox-relay',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
