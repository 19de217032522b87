module.exports = {
  displayName: 'tasks-contracts',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
