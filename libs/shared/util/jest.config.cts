module.exports = {
  displayName: 'util',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
