module.exports = {
  displayName: 'projection',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
