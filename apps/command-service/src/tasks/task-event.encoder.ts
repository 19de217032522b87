import type { SchemaRegistryOptions, AvroSerde } from '@cqrs/messaging';
import { tasksTaskEventsContracts, type TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import { ContractEventEncoder, contractSerde } from '../commands';
import { toContractRecord } from './task-event.mapping';

/** Turns a task event into its outbox payload: the `tasks.task.events` contract record, Avro-encoded. */
export class TaskEventEncoder extends ContractEventEncoder<TaskEvent, TasksTaskEventsRecord> {
  constructor(serde: AvroSerde) {
    super(serde, tasksTaskEventsContracts, toContractRecord);
  }

  /** An encoder against a Confluent-compatible registry; schemas must be registered already. */
  static create(registry: SchemaRegistryOptions): TaskEventEncoder {
    return new TaskEventEncoder(contractSerde(registry, tasksTaskEventsContracts));
  }
}
