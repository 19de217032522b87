module.exports = {
  displayName: 'projects-contracts',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
