// One webpack setup for every Nest app: a single Node bundle per app in dist/apps/<name>, with the
// production dependencies listed in a generated package.json (what the container image installs).
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { basename, join } = require('path');

/** @param {string} appDir  @param {{ extraEntries?: Record<string, string> }} options extra bundles, e.g. a CLI: { cli: 'src/cli/x.cli.ts' } */
module.exports = function appWebpackConfig(appDir, options = {}) {
  return {
    output: {
      path: join(__dirname, '../../dist/apps', basename(appDir)),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && { devtoolModuleFilenameTemplate: '[absolute-resource-path]' }),
    },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        // loaded first with `node --import ./instrumentation.js main.js` (OpenTelemetry)
        additionalEntryPoints: [
          {
            entryName: 'instrumentation',
            entryPath: join(__dirname, '../../libs/shared/observability/src/instrumentation.ts'),
          },
          ...Object.entries(options.extraEntries ?? {}).map(([entryName, path]) => ({
            entryName,
            entryPath: join(appDir, path),
          })),
        ],
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
        // the typecheck target checks types; a second checker per build only costs CPU
        skipTypeChecking: true,
      }),
    ],
  };
};
