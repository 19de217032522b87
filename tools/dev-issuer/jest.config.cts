module.exports = {
  displayName: 'dev-issuer',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
