/**
 * What the serde knows about each event type: the schema this process writes and reads with,
 * and where it goes. Contracts libs (e.g. `@cqrs/tasks-contracts`) generate arrays of these
 * from schemas/, so the serde stays free of any bounded context.
 */

/** One event type as this process knows it. Generated contracts satisfy this structurally. */
export interface EventContract {
  /** Short record name, e.g. `TaskCreated`: the outbox `type` column and the `eventType` header. */
  readonly eventType: string;
  /** Full record name, e.g. `tasks.task.TaskCreated`. */
  readonly recordName: string;
  /** Topic the event is published on, e.g. `tasks.task.events`. */
  readonly topic: string;
  /** Registry subject (TopicRecordNameStrategy), e.g. `tasks.task.events-tasks.task.TaskCreated`. */
  readonly subject: string;
  /** Compatibility level of the subject, used when the serde auto-registers. @default 'FULL_TRANSITIVE' */
  readonly compatibility?: string;
  /**
   * The Avro schema of the current version: the writer schema when producing and the reader
   * schema when consuming.
   */
  readonly schema: object;
}

/** TopicRecordNameStrategy: `<topic>-<record full name>`. */
export function topicRecordNameSubject(topic: string, recordName: string): string {
  return `${topic}-${recordName}`;
}

/**
 * Looks contracts up by full record name, or by short name when that is unambiguous.
 * @throws {Error} at construction when two contracts share a full name on one topic, or a subject
 *   does not follow TopicRecordNameStrategy: both would silently mix up schemas later.
 */
export class ContractCatalog {
  private readonly byFullName = new Map<string, EventContract[]>();
  private readonly byShortName = new Map<string, EventContract[]>();

  constructor(contracts: readonly EventContract[]) {
    for (const contract of contracts) {
      const expected = topicRecordNameSubject(contract.topic, contract.recordName);
      if (contract.subject !== expected) {
        throw new Error(`contract ${contract.recordName}: subject ${contract.subject} should be ${expected}`);
      }
      const same = this.byFullName.get(contract.recordName) ?? [];
      if (same.some((c) => c.topic === contract.topic)) {
        throw new Error(`two contracts for ${contract.recordName} on topic ${contract.topic}`);
      }
      this.byFullName.set(contract.recordName, [...same, contract]);
      this.byShortName.set(contract.eventType, [...(this.byShortName.get(contract.eventType) ?? []), contract]);
    }
  }

  /**
   * The contract for a record (full or unambiguous short name), optionally on a given topic.
   * Returns `undefined` when there is none or the short name is ambiguous.
   */
  find(name: string, topic?: string): EventContract | undefined {
    const candidates = (this.byFullName.get(name) ?? this.byShortName.get(name) ?? []).filter(
      (c) => topic === undefined || c.topic === topic,
    );
    return candidates.length === 1 ? candidates[0] : undefined;
  }

  /** The contract whose schema reads records named `recordName` (full name), if any. */
  readerFor(recordName: string): EventContract | undefined {
    return this.byFullName.get(recordName)?.[0];
  }

  /** Every contract, in the order given. */
  all(): EventContract[] {
    return [...this.byFullName.values()].flat();
  }
}
