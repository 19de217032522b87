module.exports = {
  displayName: 'plugin',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
