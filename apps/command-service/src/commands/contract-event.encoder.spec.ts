import type { AvroSerde } from '@cqrs/messaging';
import { ContractEventEncoder, type VersionedEventContract } from './contract-event.encoder';

const contract = (eventType: string, version: number, topic = 'shop.order.events'): VersionedEventContract => ({
  eventType,
  version,
  topic,
  recordName: `shop.order.${eventType}`,
  subject: `${topic}-shop.order.${eventType}`,
  schema: {},
});
type OrderEvent = { type: 'OrderPlaced'; data: { total: number } } | { type: 'OrderShipped'; data: object };
const toRecord = (event: OrderEvent, envelope: object) => ({ eventType: event.type, value: { ...envelope } });

function encoderWith(contracts: VersionedEventContract[]) {
  const calls: unknown[][] = [];
  const serde = {
    encode: async (...args: unknown[]) => (calls.push(['encode', ...args]), Buffer.from('x')),
    encoderFor: async (...args: unknown[]) => calls.push(['encoderFor', ...args]),
  } as unknown as AvroSerde;
  return { calls, encoder: new ContractEventEncoder<OrderEvent>(serde, contracts, toRecord) };
}

describe('ContractEventEncoder', () => {
  const contracts = [contract('OrderPlaced', 2), contract('OrderShipped', 1)];

  it('writes each event type with its contract’s current schema version', () => {
    const { encoder } = encoderWith(contracts);
    expect(encoder.schemaVersionOf('OrderPlaced')).toBe(2);
    expect(encoder.schemaVersionOf('OrderShipped')).toBe(1);
  });

  it('encodes the mapped record, with the envelope, on the contracts’ topic', async () => {
    const { encoder, calls } = encoderWith(contracts);
    const event: OrderEvent = { type: 'OrderPlaced', data: { total: 3 } };
    const input = { event, eventId: 'e-1', schemaVersion: 2, aggregateType: 'shop.order', aggregateId: 'o-1' };
    await encoder.encode({ ...input, version: 4, metadata: {} }, { correlationId: 'c-1' });
    expect(calls).toEqual([
      [
        'encode',
        'shop.order.events',
        'OrderPlaced',
        { eventId: 'e-1', aggregateId: 'o-1', aggregateVersion: 4, correlationId: 'c-1', causationId: undefined },
      ],
    ]);
  });

  it('warms the encoder of every event type', async () => {
    const { encoder, calls } = encoderWith(contracts);
    await encoder.warm();
    expect(calls).toEqual([
      ['encoderFor', 'shop.order.events', 'OrderPlaced'],
      ['encoderFor', 'shop.order.events', 'OrderShipped'],
    ]);
  });

  it('refuses contracts of no topic or of several: an aggregate’s events go to one topic', () => {
    expect(() => encoderWith([])).toThrow(/exactly one topic/);
    expect(() => encoderWith([contract('OrderPlaced', 1), contract('OrderShipped', 1, 'other.events')])).toThrow(
      /exactly one topic/,
    );
  });
});
