export * from './lib/domain-error';
export * from './lib/decider';
export * from './lib/decider-spec';
export * from './lib/text-rules';
export * from './lib/upcasting';
