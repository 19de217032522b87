import { PLAINTEXT } from '@cqrs/messaging/kafka';
import type { OutboxRelay, RelayState } from './outbox-relay';
import { relayReadinessChecks } from './relay-health';

describe('relay readiness: the slot is held and advancing', () => {
  const leader = (over: Partial<RelayState>): RelayState => ({
    role: 'leader',
    slot: 'cqrs_outbox_relay',
    confirmedLsn: '0/1000',
    slotLagBytes: 0,
    slotHolderPid: null,
    replicationError: null,
    producerError: null,
    pending: 0,
    ...over,
  });
  let state: RelayState;
  let clock = 0;
  const relay = { status: () => state } as unknown as OutboxRelay;
  const replication = () =>
    relayReadinessChecks(relay, { brokers: ['127.0.0.1:1'], security: PLAINTEXT }, 60_000, () => clock)[0]!;

  beforeEach(() => (clock = 0));

  it('is ready while the confirmed position moves, or nothing waits behind it', async () => {
    const check = replication();
    state = leader({ pending: 0 });
    clock = 120_000;
    await expect(check.check()).resolves.toMatchObject({ role: 'leader', confirmedLsn: '0/1000' });
    state = leader({ pending: 5, confirmedLsn: '0/2000' });
    clock = 170_000;
    await expect(check.check()).resolves.toMatchObject({ pending: 5 });
  });

  it('is not ready when rows wait and the position has not moved for a minute, and ready again once it moves', async () => {
    const check = replication();
    state = leader({ pending: 3, confirmedLsn: '0/1000' });
    await check.check();
    clock = 61_000;
    await expect(check.check()).rejects.toThrow(
      'slot cqrs_outbox_relay not advancing: 3 rows waiting, confirmed position 0/1000 for 61 s',
    );
    state = leader({ pending: 3, confirmedLsn: '0/1100' });
    await expect(check.check()).resolves.toMatchObject({ confirmedLsn: '0/1100' });
  });

  it('is ready on standby behind a live leader, and not while it can do neither', async () => {
    state = leader({ role: 'standby', slotHolderPid: 42 });
    await expect(replication().check()).resolves.toEqual({ role: 'standby', slot: 'cqrs_outbox_relay', holderPid: 42 });
    state = leader({ role: 'starting', replicationError: 'connection refused' });
    await expect(replication().check()).rejects.toThrow('connection refused');
  });

  it('reports Kafka down for the leader after a failed write, or when the cluster does not answer although nothing failed', async () => {
    const kafka = () =>
      relayReadinessChecks(relay, { brokers: ['127.0.0.1:1'], security: PLAINTEXT }, 60_000, () => clock)[1]!;
    state = leader({ producerError: 'Broker not available' });
    await expect(kafka().check()).rejects.toThrow('producer failing: Broker not available');
    state = leader({});
    await expect(kafka().check()).rejects.toThrow();
  });
});
