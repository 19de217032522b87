import { AvroSerde, RegistryUnavailableError, SchemaNotRegisteredError } from '@cqrs/messaging';
import { SchemaRegistryUnavailableError } from '../commands';
import { TaskEventEncoder } from './task-event.encoder';

const TASK_ID = '7d0f7c3e-2f0b-4a53-9a59-3a3d4c0e9b11';
const input = {
  event: { type: 'TaskStarted' as const, data: { taskId: TASK_ID, startedAt: '2026-12-02T10:00:00.000Z' } },
  eventId: '0b7c2f5e-5f5a-4a8e-9d7e-3c2b1a0f9e8d',
  schemaVersion: 1,
  aggregateType: 'tasks.task',
  aggregateId: TASK_ID,
  version: 2,
  metadata: {},
};

function encoderFailingWith(error: Error): TaskEventEncoder {
  const serde = { encode: () => Promise.reject(error) } as unknown as AvroSerde;
  return new TaskEventEncoder(serde);
}

describe('TaskEventEncoder', () => {
  it('turns a registry it cannot reach into 503 SCHEMA_REGISTRY_UNAVAILABLE with Retry-After, keeping the cause', async () => {
    const cause = new RegistryUnavailableError('connect ECONNREFUSED 127.0.0.1:8081');
    const error = await encoderFailingWith(cause)
      .encode(input, {})
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRegistryUnavailableError);
    expect(error).toMatchObject({
      code: 'SCHEMA_REGISTRY_UNAVAILABLE',
      kind: 'unavailable',
      httpStatus: 503,
      headers: { 'Retry-After': '5' },
      cause,
    });
  });

  it('lets every other failure through as it is (a missing schema is a deployment fault, not an outage)', async () => {
    const missing = new SchemaNotRegisteredError('tasks.task.events-tasks.task.TaskStarted');
    await expect(encoderFailingWith(missing).encode(input, {})).rejects.toBe(missing);
  });
});
