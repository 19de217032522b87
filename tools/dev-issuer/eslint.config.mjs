import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // The CLI owns its stdout and stderr (the root config's `tools/**` exemption does not reach a
  // lint run from this folder).
  { files: ['src/cli.ts'], rules: { 'no-console': 'off' } },
];
