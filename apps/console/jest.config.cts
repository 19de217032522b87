module.exports = {
  displayName: 'console',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
  // the page's pure logic (src/) and the production server (server/); the UI itself is tested in a
  // real browser by the system tests
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/server/**/*.spec.ts'],
};
