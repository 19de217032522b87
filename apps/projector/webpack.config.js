// The operations CLI (`npm run projector -- <command>`) ships beside the service as cli.js.
module.exports = require('../../tools/webpack/app.webpack.config')(__dirname, {
  extraEntries: { cli: 'src/cli/projector.cli.ts' },
});
