export * from './lib/cli-format';
