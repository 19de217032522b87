/**
 * The public event contracts of the tasks context: TypeScript types and Avro schemas generated
 * from schemas/tasks (do not edit src/generated; run `npm run schemas:codegen`).
 *
 * `TaskCreated`, `TaskUpdated`, ... are the current versions (what producers write and
 * consumers read with); `TaskCreatedV1` etc. are kept for tests of older data.
 * `tasksTaskEventsContracts` feeds the Avro serde of `@cqrs/messaging`.
 */
export * from './generated';
