// Placeholder for an app whose build emits no instrumentation.js: the image always runs
// `node --import ./instrumentation.js main.js`. Apps built with tools/webpack/app.webpack.config.js
// emit the real one (libs/shared/observability/src/instrumentation.ts), which replaces this.
