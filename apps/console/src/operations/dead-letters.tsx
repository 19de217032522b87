import { useQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import type { DeadLetter, DeadLetterDetail } from '@cqrs/client';
import { cqrs } from '../api/client';
import { describeError } from '../api/errors';
import { traceUrl } from './format';
import { useAdminCommand } from './use-admin-command';

/** Parked records: filter by projection, show one, redrive it (apply again) or discard it. */
export function DeadLetters({
  projections,
  traceUrlTemplate,
}: {
  projections: string[];
  traceUrlTemplate: string | null;
}) {
  const [projection, setProjection] = useState('');
  const [shown, setShown] = useState<number | null>(null);
  const list = useQuery({
    ...cqrs.admin.deadLetters(projection ? { projection, limit: 100 } : { limit: 100 }),
    refetchInterval: 10_000,
  });
  const redrive = useAdminCommand(cqrs.admin.redrive(), ({ id }, result) =>
    result.error
      ? { failure: `Record ${id} failed again and stays parked: ${result.error.code}: ${result.error.message}` }
      : `Redrove record ${id}: ${result.released} applied${result.stillParked ? `, ${result.stillParked} still parked` : ''}.`,
  );
  const discard = useAdminCommand(cqrs.admin.discard(), ({ id }) => `Discarded record ${id}.`);

  return (
    <section className="card" aria-labelledby="dead-letters-heading">
      <div className="section-header">
        <h2 id="dead-letters-heading">Dead letters</h2>
        <div className="field field-inline">
          <label htmlFor="dead-letter-projection">Projection</label>
          <select id="dead-letter-projection" value={projection} onChange={(e) => setProjection(e.target.value)}>
            <option value="">All projections</option>
            {projections.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      </div>
      {list.isPending ? (
        <p role="status">Loading dead letters…</p>
      ) : list.isError ? (
        <p className="notice notice-error">Dead letters could not be loaded. {describeError(list.error)}</p>
      ) : list.data.deadLetters.length === 0 ? (
        <p className="hint">No parked records. Every event was applied.</p>
      ) : (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Parked records</caption>
            <thead>
              <tr>
                <th scope="col">Record</th>
                <th scope="col">Projection</th>
                <th scope="col">Reason</th>
                <th scope="col">Parked</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.deadLetters.map((d) => {
                const busy =
                  (redrive.isPending && redrive.variables?.id === d.id) ||
                  (discard.isPending && discard.variables?.id === d.id);
                const rowId = `dead-letter-${d.id}`;
                return (
                  <Fragment key={d.id}>
                    <tr>
                      <th scope="row" id={rowId}>
                        {d.topic}/{d.partition}@{String(d.offset)}
                        {d.streamId ? <span className="sub">stream {d.streamId}</span> : null}
                      </th>
                      <td>{d.projection}</td>
                      <td>
                        <code>{d.errorCode}</code> {d.reason}
                      </td>
                      <td>{new Date(d.parkedAt).toLocaleString()}</td>
                      <td>
                        <div className="row-actions">
                          <button
                            type="button"
                            className="button button-small button-quiet"
                            aria-expanded={shown === d.id}
                            aria-controls={`${rowId}-details`}
                            onClick={() => setShown(shown === d.id ? null : d.id)}
                          >
                            {shown === d.id ? 'Hide' : 'Show'}
                          </button>
                          <button
                            type="button"
                            className="button button-small button-secondary"
                            disabled={busy}
                            onClick={() => redrive.mutate({ id: d.id })}
                          >
                            Redrive
                          </button>
                          <button
                            type="button"
                            className="button button-small button-danger"
                            disabled={busy}
                            onClick={() => discard.mutate({ id: d.id })}
                          >
                            Discard
                          </button>
                        </div>
                      </td>
                    </tr>
                    {shown === d.id ? (
                      <tr id={`${rowId}-details`}>
                        <td colSpan={5}>
                          <DeadLetterDetails summary={d} traceUrlTemplate={traceUrlTemplate} />
                        </td>
                      </tr>
                    ) : null}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function DeadLetterDetails({ summary, traceUrlTemplate }: { summary: DeadLetter; traceUrlTemplate: string | null }) {
  const detail = useQuery(cqrs.admin.deadLetter(summary.id));
  const record: DeadLetter | DeadLetterDetail = detail.data ?? summary;
  const link = record.traceId ? traceUrl(traceUrlTemplate, record.traceId) : null;
  return (
    <div className="dead-letter-details">
      <p>{record.errorMessage}</p>
      <dl className="stats">
        <div>
          <dt>Event</dt>
          <dd>
            {record.eventType ?? 'unknown'}
            {record.aggregateVersion !== null ? ` v${record.aggregateVersion}` : ''}
          </dd>
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>{record.attempts}</dd>
        </div>
      </dl>
      {record.traceId ? (
        <p>
          Trace{' '}
          {link ? (
            <a href={link} target="_blank" rel="noreferrer noopener">
              {record.traceId}
            </a>
          ) : (
            <code>{record.traceId}</code>
          )}
        </p>
      ) : null}
      {detail.isError ? <p className="notice notice-error">{describeError(detail.error)}</p> : null}
      <pre className="json">{JSON.stringify(record, null, 2)}</pre>
    </div>
  );
}
