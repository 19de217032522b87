import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The append as one server-side call; see {@link CreateAppendFunction1764000000002}. */
export const APPEND_FUNCTION = 'cqrs_append_to_stream';

/**
 * One round trip per append. Before it, an append was BEGIN, the events-and-outbox statement, the
 * outbox DELETE, maybe a snapshot upsert, and COMMIT: five round trips, each waking a Postgres
 * backend and the Node event loop, which on a small machine cost more than the work itself
 * (bench/results/commands.json). A function body runs as one statement, so it is atomic on its
 * own: the events, their outbox rows, the deletion of those rows and a due snapshot commit or roll
 * back together, with or without a surrounding transaction (the store opens one only when it must
 * also record an idempotency key). Emmett and Marten append through a stored function likewise.
 *
 * It returns one `(global_position, version)` row per appended event, in version order, or no row
 * when the stream is not at `p_expected_version` (the caller reports the conflict). Two writers
 * passing the guard together collide on `events_stream_id_version_key`, as before.
 * SECURITY INVOKER (the default): it runs with the caller's table privileges, nothing more.
 */
export class CreateAppendFunction1764000000002 implements MigrationInterface {
  name = 'CreateAppendFunction1764000000002';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ${APPEND_FUNCTION}(
        p_stream_id text,
        p_stream_type text,
        p_expected_version bigint,
        p_metadata jsonb,
        p_event_ids uuid[],
        p_types text[],
        p_schema_versions integer[],
        p_data jsonb[],
        p_outbox_payloads bytea[],       -- NULL: no outbox rows
        p_outbox_aggregate_type text,
        p_outbox_aggregate_id text,
        p_traceparent text,
        p_tracestate text,
        p_correlation_id text,
        p_delete_outbox boolean,
        p_snapshot_schema_version integer,
        p_snapshot_state jsonb           -- NULL: no snapshot due
      ) RETURNS TABLE (global_position bigint, version bigint)
      LANGUAGE plpgsql VOLATILE AS $fn$
      #variable_conflict use_column
      BEGIN
        -- Guard: without it a writer that decided on a stale version could leave a gap.
        IF (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.stream_id = p_stream_id) <> p_expected_version THEN
          RETURN;
        END IF;

        -- Outbox rows in version order: the WAL order is the order CDC publishes them in.
        RETURN QUERY
        WITH appended AS (
          INSERT INTO events (event_id, stream_id, stream_type, version, type, schema_version, data, metadata)
          SELECT e.event_id, p_stream_id, p_stream_type, p_expected_version + e.ord, e.type, e.schema_version, e.data, p_metadata
          FROM unnest(p_event_ids, p_types, p_schema_versions, p_data) WITH ORDINALITY AS e(event_id, type, schema_version, data, ord)
          ORDER BY e.ord
          RETURNING global_position, event_id, version, type, recorded_at
        ), outboxed AS (
          INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, "timestamp", aggregateversion, traceparent, tracestate, correlationid)
          SELECT a.event_id, p_outbox_aggregate_type, p_outbox_aggregate_id, a.type, p.payload, a.recorded_at, a.version,
                 p_traceparent, p_tracestate, p_correlation_id
          FROM appended a JOIN unnest(p_event_ids, p_outbox_payloads) AS p(event_id, payload) USING (event_id)
          WHERE p_outbox_payloads IS NOT NULL
          ORDER BY a.version
        )
        SELECT a.global_position, a.version FROM appended a ORDER BY a.version;

        -- The WAL keeps the inserts for CDC; the table stays empty (a later statement of a
        -- VOLATILE function sees the rows the one before inserted).
        IF p_delete_outbox AND p_outbox_payloads IS NOT NULL THEN
          DELETE FROM outbox WHERE id = ANY (p_event_ids);
        END IF;

        IF p_snapshot_state IS NOT NULL THEN
          INSERT INTO snapshots (stream_id, state_schema_version, version, state)
          VALUES (p_stream_id, p_snapshot_schema_version, p_expected_version + cardinality(p_event_ids), p_snapshot_state)
          ON CONFLICT (stream_id, state_schema_version) DO UPDATE
            SET version = EXCLUDED.version, state = EXCLUDED.state, created_at = now()
            WHERE snapshots.version < EXCLUDED.version;
        END IF;
      END $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP FUNCTION IF EXISTS ${APPEND_FUNCTION}(text, text, bigint, jsonb, uuid[], text[], integer[], jsonb[], bytea[], text, text, text, text, text, boolean, integer, jsonb)`,
    );
  }
}
