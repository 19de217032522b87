module.exports = {
  displayName: 'bench',
  preset: '../jest.preset.js',
  rootDir: __dirname,
  // the benchmarks themselves (*.bench.ts) are run by `npm run bench`, never by jest
  testMatch: ['<rootDir>/*.spec.ts'],
};
