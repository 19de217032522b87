import { kafkaCheck, type ReadinessCheck } from '@cqrs/http';
import type { OutboxRelay } from './outbox-relay';

/**
 * Readiness of the relay. `replication`: up while this replica streams the slot (with its
 * position and lag) or waits on standby behind a live leader; down while it cannot do either.
 * `kafka`: for the leader, the producer itself (down after a failed write until one succeeds);
 * for a standby, whether the cluster answers, so it is ready to take over.
 */
export function relayReadinessChecks(relay: OutboxRelay, brokers: string[]): ReadinessCheck[] {
  const cluster = kafkaCheck(brokers);
  return [
    {
      name: 'replication',
      check: async () => {
        const state = relay.status();
        if (state.role === 'leader') {
          return { role: 'leader', slot: state.slot, confirmedLsn: state.confirmedLsn, slotLagBytes: state.slotLagBytes, pending: state.pending };
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
        return { producer: 'ok' };
      },
    },
  ];
}
