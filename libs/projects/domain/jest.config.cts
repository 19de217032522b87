module.exports = {
  displayName: 'projects-domain',
  preset: '../../../jest.preset.js',
  rootDir: __dirname,
};
