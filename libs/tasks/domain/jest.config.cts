module.exports = {
  displayName: 'tasks-domain',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
