// The schema tools are ESM TypeScript (.mts) so Node 24 runs the CLIs directly; Jest still
// compiles them to CommonJS with SWC, so it must know the extension.
const preset = require('../../jest.preset.js');

module.exports = {
  displayName: 'schema-tools',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  moduleFileExtensions: ['ts', 'mts', 'js', 'json'],
  transform: { '^.+\\.m?[tj]s$': preset.transform['^.+\\.[tj]s$'] },
};
