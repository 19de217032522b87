module.exports = {
  displayName: 'tasks-read-model',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
