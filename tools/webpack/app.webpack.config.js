// One webpack setup for every Nest app: a single Node bundle per app in dist/apps/<name>, with the
// production dependencies listed in a generated package.json (what the container image installs).
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { basename, join } = require('path');

module.exports = function appWebpackConfig(appDir) {
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
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        sourceMap: true,
      }),
    ],
  };
};
