export * from './serde';
export * from './kafka';
