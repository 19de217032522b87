/**
 * Test support: produces task events to a Kafka topic exactly as the outbox relay does (key =
 * task id, value = Avro in Confluent wire format, headers id/eventType/aggregateVersion/...),
 * and keeps what it produced so a test can compare the read model with a replay of it.
 */
import { AvroSerde, createKafka, createSchemaRegistry, type SchemaRegistryOptions } from '@cqrs/messaging';
import { tasksTaskEventsContracts, tasksTaskEventsTopic, type TasksTaskEventsRecord } from '@cqrs/tasks-contracts';
import type { TaskEvent } from '@cqrs/tasks-domain';
import {
  replayTask,
  userTaskStats,
  emptyCounts,
  type StatusCounts,
  type TaskView,
  type UserTaskStats,
} from '@cqrs/tasks-read-model';
import type { Kafka, Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';

const millis = (iso: string) => Date.parse(iso);
const change = (value: string | null | undefined) => (value === undefined ? null : { value });

/** The public contract record of a domain event (what the command side writes to the outbox). */
export function contractRecordOf(
  event: TaskEvent,
  version: number,
  eventId: string = randomUUID(),
): TasksTaskEventsRecord {
  const base = {
    eventId,
    aggregateId: event.data.taskId,
    aggregateVersion: version,
    correlationId: null,
    causationId: null,
  };
  switch (event.type) {
    case 'TaskCreated': {
      const d = event.data;
      return {
        eventType: 'TaskCreated',
        value: {
          ...base,
          occurredAt: millis(d.createdAt),
          ownerId: d.ownerId,
          title: d.title,
          description: d.description ?? null,
          dueDate: d.dueDate ?? null,
          priority: d.priority,
        },
      };
    }
    case 'TaskUpdated': {
      const d = event.data;
      return {
        eventType: 'TaskUpdated',
        value: {
          ...base,
          occurredAt: millis(d.updatedAt),
          title: d.title ?? null,
          description: change(d.description),
          dueDate: change(d.dueDate),
        },
      };
    }
    case 'TaskStarted':
      return { eventType: 'TaskStarted', value: { ...base, occurredAt: millis(event.data.startedAt) } };
    case 'TaskCompleted':
      return { eventType: 'TaskCompleted', value: { ...base, occurredAt: millis(event.data.completedAt) } };
    case 'TaskAbandoned':
      return {
        eventType: 'TaskAbandoned',
        value: { ...base, occurredAt: millis(event.data.abandonedAt), reason: event.data.reason },
      };
    case 'TaskDeleted':
      return { eventType: 'TaskDeleted', value: { ...base, occurredAt: millis(event.data.deletedAt) } };
  }
}

/** A raw record to produce as is (e.g. poison). */
export interface RawRecord {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
}

export class TaskTopic {
  /** Every event produced, per task, in version order: the "event store" the read model must equal. */
  readonly history = new Map<string, { ownerId: string; events: TaskEvent[] }>();
  private readonly serde: AvroSerde;
  private readonly producer: Producer;

  constructor(
    readonly kafka: Kafka,
    registry: SchemaRegistryOptions,
    readonly topic: string,
  ) {
    // Subjects of the real topic: schemas are registered (or found) once, bytes go to any topic.
    this.serde = new AvroSerde({
      registry: createSchemaRegistry(registry),
      contracts: tasksTaskEventsContracts,
      autoRegister: true,
    });
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** `brokers` with the test infrastructure's security (from `process.env`, set by getTestInfra). */
  static async create(
    brokers: string[],
    registry: SchemaRegistryOptions,
    topic: string,
    partitions = 3,
  ): Promise<TaskTopic> {
    const kafka = createKafka({ clientId: 'test-producer', brokers });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    await admin.disconnect();
    const t = new TaskTopic(kafka, registry, topic);
    await t.producer.connect();
    return t;
  }

  /** Encodes an event as the relay would publish it. */
  async encode(
    event: TaskEvent,
    version: number,
  ): Promise<{ key: string; value: Buffer; headers: Record<string, string> }> {
    const record = contractRecordOf(event, version);
    const value = await this.serde.encode(tasksTaskEventsTopic, record.eventType, record.value);
    return {
      key: event.data.taskId,
      value,
      headers: {
        id: record.value.eventId,
        eventType: record.eventType,
        aggregateVersion: String(version),
        correlationId: randomUUID(),
      },
    };
  }

  /** Appends events to their tasks' histories (next versions) and produces them, in order. */
  async append(...events: TaskEvent[]): Promise<void> {
    const messages = [];
    for (const event of events) {
      const entry = this.history.get(event.data.taskId) ?? {
        ownerId: event.type === 'TaskCreated' ? event.data.ownerId : '?',
        events: [],
      };
      entry.events.push(event);
      this.history.set(event.data.taskId, entry);
      messages.push(await this.encode(event, entry.events.length));
    }
    await this.producer.send({ topic: this.topic, acks: -1, messages });
  }

  /**
   * Adds events to their tasks' histories (next versions) without producing them, returning
   * the records the relay would have produced: for tests that lose, corrupt or reorder them.
   */
  async withhold(...events: TaskEvent[]): Promise<RawRecord[]> {
    const records: RawRecord[] = [];
    for (const event of events) {
      const entry = this.history.get(event.data.taskId) ?? {
        ownerId: event.type === 'TaskCreated' ? event.data.ownerId : '?',
        events: [],
      };
      entry.events.push(event);
      this.history.set(event.data.taskId, entry);
      records.push(await this.encode(event, entry.events.length));
    }
    return records;
  }

  /** Produces records as given (poison, duplicates, out-of-order versions). */
  async sendRaw(...records: RawRecord[]): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
    });
  }

  /** What a replay of the produced history gives for a task. */
  replay(taskId: string): TaskView | undefined {
    return replayTask(this.history.get(taskId)?.events ?? []);
  }

  /** What a replay gives for a user's statistics. */
  replayStats(ownerId: string): UserTaskStats {
    const counts: StatusCounts = emptyCounts();
    for (const [taskId, entry] of this.history) {
      if (entry.ownerId !== ownerId) continue;
      const view = this.replay(taskId);
      if (view) counts[view.status] += 1;
    }
    return userTaskStats(ownerId, counts);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** Builders for one task's events at distinct, increasing instants. */
export function taskEventsFor(taskId: string, ownerId: string, start = Date.UTC(2025, 0, 1)) {
  let minute = 0;
  const at = () => new Date(start + minute++ * 60_000).toISOString();
  return {
    taskId,
    created: (title = `task ${taskId.slice(0, 8)}`): TaskEvent => ({
      type: 'TaskCreated',
      data: { taskId, ownerId, title, priority: 'NORMAL', createdAt: at() },
    }),
    updated: (data: { title?: string; description?: string | null; dueDate?: string | null }): TaskEvent => ({
      type: 'TaskUpdated',
      data: { taskId, ...data, updatedAt: at() },
    }),
    started: (): TaskEvent => ({ type: 'TaskStarted', data: { taskId, startedAt: at() } }),
    completed: (): TaskEvent => ({ type: 'TaskCompleted', data: { taskId, completedAt: at() } }),
    abandoned: (reason = 'not needed'): TaskEvent => ({
      type: 'TaskAbandoned',
      data: { taskId, reason, abandonedAt: at() },
    }),
    deleted: (): TaskEvent => ({ type: 'TaskDeleted', data: { taskId, deletedAt: at() } }),
  };
}
