module.exports = {
  displayName: 'command-service',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
