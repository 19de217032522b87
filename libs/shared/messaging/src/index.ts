export * from './serde';
