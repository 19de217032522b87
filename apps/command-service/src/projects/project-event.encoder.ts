import type { AvroSerde, SchemaRegistryOptions } from '@cqrs/messaging';
import { projectsProjectEventsContracts, type ProjectsProjectEventsRecord } from '@cqrs/projects-contracts';
import type { ProjectEvent } from '@cqrs/projects-domain';
import { ContractEventEncoder, contractSerde } from '../commands';
import { toProjectContractRecord } from './project-event.mapping';

/** Turns a project event into its outbox payload: the `projects.project.events` record, Avro-encoded. */
export class ProjectEventEncoder extends ContractEventEncoder<ProjectEvent, ProjectsProjectEventsRecord> {
  constructor(serde: AvroSerde) {
    super(serde, projectsProjectEventsContracts, toProjectContractRecord);
  }

  /** An encoder against a Confluent-compatible registry; schemas must be registered already. */
  static create(registry: SchemaRegistryOptions): ProjectEventEncoder {
    return new ProjectEventEncoder(contractSerde(registry, projectsProjectEventsContracts));
  }
}
