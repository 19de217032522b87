import { useState } from 'react';
import { traceUrl } from './format';

/** Opens a trace by its id in the tracing UI the console server names (`CONSOLE_TRACE_URL`). */
export function TraceLookup({ template }: { template: string | null }) {
  const [traceId, setTraceId] = useState('');
  const link = traceUrl(template, traceId);
  return (
    <section className="card" aria-labelledby="trace-heading">
      <h2 id="trace-heading">Find a trace</h2>
      {template === null ? (
        <p className="hint">
          Trace links are off: start the console server with <code>CONSOLE_TRACE_URL</code>, e.g.{' '}
          <code>http://127.0.0.1:16686/trace/{'{traceId}'}</code>.
        </p>
      ) : (
        <div className="trace-lookup">
          <div className="field">
            <label htmlFor="trace-id">Trace id</label>
            <input
              id="trace-id"
              value={traceId}
              spellCheck={false}
              autoComplete="off"
              placeholder="32 hex digits"
              aria-describedby="trace-id-hint"
              onChange={(e) => setTraceId(e.target.value)}
            />
            <p id="trace-id-hint" className="hint">
              From a problem’s log line, a dead letter or a <code>traceparent</code> header.
            </p>
          </div>
          {link ? (
            <a className="button button-secondary" href={link} target="_blank" rel="noreferrer noopener">
              Open trace
            </a>
          ) : (
            <span className="hint">Enter a trace id to get its link.</span>
          )}
        </div>
      )}
    </section>
  );
}
