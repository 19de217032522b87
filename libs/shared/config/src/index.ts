export { loadConfig, ConfigError, env } from './load-config';
