import { useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import type { Projection } from '@cqrs/client';
import { cqrs } from '../api/client';
import { describeError, isNotFound } from '../api/errors';
import { formatCount, formatDuration, percentDone } from './format';
import { useAdminCommand } from './use-admin-command';

/** Every projection with its lag per partition, pause/resume and rebuild. */
export function Projections() {
  const projections = useQuery({ ...cqrs.admin.projections(), refetchInterval: 5000 });
  return (
    <section className="card" aria-labelledby="projections-heading">
      <h2 id="projections-heading">Projections</h2>
      {projections.isPending ? (
        <p role="status">Loading projections…</p>
      ) : projections.isError ? (
        <p className="notice notice-error">Projections could not be loaded. {describeError(projections.error)}</p>
      ) : projections.data.projections.length === 0 ? (
        <p>No projections.</p>
      ) : (
        <div className="projections">
          {projections.data.projections.map((p) => (
            <ProjectionPanel key={p.name} projection={p} />
          ))}
        </div>
      )}
    </section>
  );
}

function ProjectionPanel({ projection }: { projection: Projection }) {
  const headingId = useId();
  const pause = useAdminCommand(cqrs.admin.pause(), (v) => `Paused ${v.name}.`);
  const resume = useAdminCommand(cqrs.admin.resume(), (v) => `Resumed ${v.name}.`);
  const paused = projection.state === 'paused';
  return (
    <section className="projection" aria-labelledby={headingId}>
      <div className="projection-header">
        <h3 id={headingId}>{projection.name}</h3>
        <span className={`badge badge-${projection.state}`}>{projection.state}</span>
      </div>
      {projection.problem ? <p className="notice notice-warning">{projection.problem}</p> : null}
      <dl className="stats">
        <div>
          <dt>Kind</dt>
          <dd>{projection.kind}</dd>
        </div>
        <div>
          <dt>Generation</dt>
          <dd>{projection.activeGeneration ?? '—'}</dd>
        </div>
        <div>
          <dt>Total lag</dt>
          <dd>{formatCount(projection.totalLag)}</dd>
        </div>
        <div>
          <dt>Parked</dt>
          <dd>
            {projection.parked.records === null
              ? `${formatCount(projection.parked.streams)} streams`
              : formatCount(projection.parked.records)}
          </dd>
        </div>
      </dl>
      {projection.partitions.length > 0 ? (
        <div className="table-scroll">
          <table>
            <caption className="visually-hidden">Partitions of {projection.name}</caption>
            <thead>
              <tr>
                <th scope="col">Partition</th>
                <th scope="col">Committed</th>
                <th scope="col">High watermark</th>
                <th scope="col">Lag</th>
                <th scope="col">Last applied</th>
              </tr>
            </thead>
            <tbody>
              {projection.partitions.map((p) => (
                <tr key={`${p.topic}-${p.partition}`}>
                  <th scope="row">
                    {p.topic}/{p.partition}
                  </th>
                  <td>{p.committedOffset ?? '—'}</td>
                  <td>{p.highWatermark ?? '—'}</td>
                  <td className={p.lag > 0 ? 'lagging' : undefined}>{formatCount(p.lag)}</td>
                  <td>{p.appliedAt ? new Date(p.appliedAt).toLocaleString() : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <div className="projection-actions">
        {paused ? (
          <button
            type="button"
            className="button button-secondary"
            disabled={resume.isPending}
            onClick={() => resume.mutate({ name: projection.name })}
          >
            Resume
          </button>
        ) : (
          <button
            type="button"
            className="button button-secondary"
            disabled={pause.isPending}
            onClick={() => pause.mutate({ name: projection.name })}
          >
            Pause
          </button>
        )}
      </div>
      {projection.kind === 'generations' ? (
        <RebuildPanel name={projection.name} />
      ) : (
        <p className="hint">A stream projection is not rebuilt: its state lives in per-stream checkpoints.</p>
      )}
    </section>
  );
}

function RebuildPanel({ name }: { name: string }) {
  const id = useId();
  const [source, setSource] = useState<'store' | 'kafka'>('store');
  const rebuild = useQuery({
    ...cqrs.admin.currentRebuild(name),
    refetchInterval: (query) => (query.state.data?.state === 'running' ? 1000 : 10_000),
  });
  const start = useAdminCommand(
    cqrs.admin.startRebuild(),
    (v) => `Started a rebuild of ${v.name} from the ${v.source === 'store' ? 'event store' : 'Kafka topic'}.`,
  );
  const cancel = useAdminCommand(cqrs.admin.cancelRebuild(), (v) => `Cancelled the rebuild of ${v.name}.`);
  // 404: none ever ran for this projection
  const current = rebuild.data ?? null;
  const running = current?.state === 'running';
  const percent = current ? percentDone(current.eventsDone, current.eventsExpected) : null;

  return (
    <div className="rebuild">
      <h4>Rebuild</h4>
      {current ? (
        <div className="rebuild-status">
          <label htmlFor={`${id}-progress`}>Rebuild of {name}</label>
          {/* no value while the total is unknown: an indeterminate bar, not a false 0% */}
          {percent === null ? (
            <progress id={`${id}-progress`} max={100} />
          ) : (
            <progress
              id={`${id}-progress`}
              max={100}
              value={running ? percent : current.state === 'succeeded' ? 100 : percent}
            />
          )}
          <p className="rebuild-line">
            <span className={`badge badge-${current.state}`}>{current.state}</span>
            {current.phase ? <span>Phase: {current.phase}</span> : null}
            <span>
              {formatCount(current.eventsDone)}
              {current.eventsExpected ? ` of ${formatCount(current.eventsExpected)}` : ''} events
              {percent !== null ? ` (${percent}%)` : ''}
            </span>
            {running && current.eventsPerSecond ? (
              <span>{formatCount(Math.round(current.eventsPerSecond))} events/s</span>
            ) : null}
            {running && current.etaMs !== null && current.etaMs !== undefined ? (
              <span>ETA {formatDuration(current.etaMs)}</span>
            ) : null}
          </p>
          {current.error ? <p className="notice notice-error">{current.error}</p> : null}
        </div>
      ) : rebuild.isError && !isNotFound(rebuild.error) ? (
        <p className="notice notice-error">{describeError(rebuild.error)}</p>
      ) : (
        <p className="hint">No rebuild recorded for this projection.</p>
      )}
      <div className="rebuild-actions">
        {running ? (
          <button
            type="button"
            className="button button-danger"
            disabled={cancel.isPending}
            onClick={() => cancel.mutate({ name })}
          >
            Cancel rebuild
          </button>
        ) : (
          <>
            <div className="field field-inline">
              <label htmlFor={`${id}-source`}>Rebuild source</label>
              <select
                id={`${id}-source`}
                value={source}
                onChange={(e) => setSource(e.target.value as 'store' | 'kafka')}
              >
                <option value="store">Event store</option>
                <option value="kafka">Kafka topic</option>
              </select>
            </div>
            <button
              type="button"
              className="button button-primary"
              disabled={start.isPending}
              onClick={() => start.mutate({ name, source })}
            >
              Start rebuild
            </button>
          </>
        )}
      </div>
    </div>
  );
}
