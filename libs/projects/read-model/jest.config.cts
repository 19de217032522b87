module.exports = {
  displayName: 'projects-read-model',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
