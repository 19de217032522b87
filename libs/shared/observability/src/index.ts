export { ObservabilityModule } from './observability.module';
export type { ObservabilityOptions } from './observability.module';
