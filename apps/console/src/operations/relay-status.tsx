import { useQuery } from '@tanstack/react-query';
import { cqrs } from '../api/client';
import { describeError } from '../api/errors';
import { formatBytes } from './format';

/** The outbox relay as PostgreSQL sees it: its slot, leader, standbys and how far it is behind. */
export function RelayStatus() {
  const relay = useQuery({ ...cqrs.admin.relay(), refetchInterval: 5000 });
  const data = relay.data;
  return (
    <section className="card" aria-labelledby="relay-heading">
      <h2 id="relay-heading">Outbox relay</h2>
      {relay.isPending ? (
        <p role="status">Loading relay status…</p>
      ) : relay.isError || data === undefined ? (
        <p className="notice notice-error">The relay status could not be loaded. {describeError(relay.error)}</p>
      ) : (
        <dl className="stats">
          <div>
            <dt>Slot</dt>
            <dd>
              {data.slotName}
              {data.slot === null ? ' (missing)' : data.slot.active ? ' (active)' : ' (inactive)'}
            </dd>
          </div>
          <div>
            <dt>Leader</dt>
            <dd>{data.leader ? data.leader.name : 'none'}</dd>
          </div>
          <div>
            <dt>Standbys</dt>
            <dd>{data.standbys.length > 0 ? data.standbys.map((s) => s.name).join(', ') : 'none'}</dd>
          </div>
          <div>
            <dt>Confirmed position</dt>
            <dd>{data.slot?.confirmedFlushLsn ?? '—'}</dd>
          </div>
          <div>
            <dt>Current position</dt>
            <dd>{data.currentLsn}</dd>
          </div>
          <div>
            <dt>Lag</dt>
            <dd>{typeof data.slot?.lagBytes === 'number' ? formatBytes(data.slot.lagBytes) : '—'}</dd>
          </div>
          {data.slot?.walStatus ? (
            <div>
              <dt>WAL status</dt>
              <dd>{data.slot.walStatus}</dd>
            </div>
          ) : null}
        </dl>
      )}
    </section>
  );
}
