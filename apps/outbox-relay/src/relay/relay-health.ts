import { kafkaCheck, type ReadinessCheck } from '@cqrs/http';
import { createKafka, type KafkaSecurity } from '@cqrs/messaging/kafka';
import type { OutboxRelay } from './outbox-relay';

/**
 * Readiness of the relay. `replication`: up while this replica streams the slot (with its
 * position and lag) and the slot advances, or waits on standby behind a live leader; down while
 * it cannot do either, or while rows wait but the confirmed position has not moved for `stallMs`.
 * `kafka`: whether the cluster answers (a standby must be ready to take over, a quiet leader may
 * not have written anything that could fail), and for the leader its producer (down after a
 * failed write until one succeeds).
 */
export function relayReadinessChecks(
  relay: OutboxRelay,
  kafka: { brokers: string[]; security: KafkaSecurity },
  stallMs = 60_000,
  now = () => Date.now(),
): ReadinessCheck[] {
  // The publisher's producers are not ours to probe with: one client of its own (with the relay's
  // own identity and trust), kept for readiness.
  const cluster = kafkaCheck(
    createKafka({
      clientId: 'outbox-relay-readiness',
      brokers: kafka.brokers,
      security: kafka.security,
      tuning: { connectionTimeout: 2000, requestTimeout: 2000, retry: { retries: 0 } },
    }),
  );
  // The confirmed position last seen to move (or to have nothing waiting behind it), and when.
  let progress = { lsn: null as string | null, at: now() };
  return [
    {
      name: 'replication',
      check: async () => {
        const state = relay.status();
        if (state.role === 'leader') {
          if (state.confirmedLsn !== progress.lsn || state.pending === 0)
            progress = { lsn: state.confirmedLsn, at: now() };
          const stalled = now() - progress.at;
          if (stalled > stallMs) {
            throw new Error(
              `slot ${state.slot} not advancing: ${state.pending} rows waiting, confirmed position ${state.confirmedLsn} for ${Math.round(stalled / 1000)} s`,
            );
          }
          return {
            role: 'leader',
            slot: state.slot,
            confirmedLsn: state.confirmedLsn,
            slotLagBytes: state.slotLagBytes,
            pending: state.pending,
          };
        }
        if (state.role === 'standby') return { role: 'standby', slot: state.slot, holderPid: state.slotHolderPid };
        throw new Error(state.replicationError ?? `not streaming yet (${state.role})`);
      },
    },
    {
      name: 'kafka',
      check: async () => {
        const state = relay.status();
        if (state.role !== 'leader') return cluster.check();
        if (state.producerError) throw new Error(`producer failing: ${state.producerError}`);
        // A quiet leader writes nothing that could fail: ask the cluster too.
        return cluster.check();
      },
      close: cluster.close,
    },
  ];
}
