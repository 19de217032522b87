import type { MigrationInterface, QueryRunner } from 'typeorm';
import { CreateAppendFunction1764000000002, APPEND_FUNCTION } from './1764000000002-create-append-function';
import { APPEND_BATCH_FUNCTION } from './1764000000003-create-append-batch-function';
import { WRITE_DATABASE_ROLES } from './1764000000004-grant-least-privilege';

/** Where archived streams' events live; same columns as `events`. */
export const EVENTS_ARCHIVE_TABLE = 'events_archive';
/** One row per archived stream: its version when (last) archived. */
export const ARCHIVED_STREAMS_TABLE = 'archived_streams';
/** The setting a transaction sets (`SET LOCAL cqrs.archiving = 'on'`) to move events to the archive. */
export const ARCHIVING_SETTING = 'cqrs.archiving';

const { command, relay, reader } = WRITE_DATABASE_ROLES;

const APPEND_SIGNATURE = `${APPEND_FUNCTION}(text, text, bigint, jsonb, uuid[], text[], integer[], jsonb[], bytea[], text, text, text, text, text, boolean, integer, jsonb)`;

/**
 * The event store as the source of truth (docs/adr/0013-event-store-as-source-of-truth.md):
 *
 * - `events_archive`: the events of cold streams, moved out of `events` whole (same columns, the
 *   original `global_position` kept, not an identity), append-only like `events`.
 *   `archived_streams` remembers each archived stream's version, so the append guard still knows
 *   the stream exists: an append continues at version + 1 in `events`, and a stale writer cannot
 *   write a second version N. A stream appended to after archiving can be archived again (the
 *   new events join the old ones).
 * - `events_are_immutable()` (the trigger of `events` and now `events_archive`) lets a DELETE
 *   through only in a transaction that set `cqrs.archiving` to `on`; UPDATE stays refused. The
 *   grants stay the first line: only the owner role may DELETE at all.
 * - `snapshots` keeps history: its key becomes `(stream_id, state_schema_version, version)` and a
 *   due snapshot is a new row. Loads read the newest of the caller's state schema version; the
 *   store's `pruneSnapshots` keeps the newest few (the command role may DELETE them, no longer
 *   UPDATE).
 * - `cqrs_append_to_stream` is replaced (same signature, so grants and callers stay): its guard
 *   counts `archived_streams.version`, and its snapshot is an insert. `cqrs_append_batch` calls it
 *   per append, so the batch gets both without a change of its own.
 * - Grants: `cqrs_command` SELECT on both new tables (loads and the guard read them), SELECT,
 *   INSERT, DELETE on `snapshots`; the projector's role SELECT on `events` and `events_archive`
 *   only (rebuilds and reconciliation read the store).
 */
export class ArchiveAndSnapshotHistory1764000000005 implements MigrationInterface {
  name = 'ArchiveAndSnapshotHistory1764000000005';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${EVENTS_ARCHIVE_TABLE} (
        global_position bigint      NOT NULL,
        event_id        uuid        NOT NULL,
        stream_id       text        NOT NULL,
        stream_type     text        NOT NULL,
        version         bigint      NOT NULL,
        type            text        NOT NULL,
        schema_version  integer     NOT NULL DEFAULT 1,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        recorded_at     timestamptz NOT NULL,
        CONSTRAINT events_archive_pkey PRIMARY KEY (global_position),
        CONSTRAINT events_archive_event_id_key UNIQUE (event_id),
        CONSTRAINT events_archive_stream_id_version_key UNIQUE (stream_id, version),
        CONSTRAINT events_archive_version_check CHECK (version > 0),
        CONSTRAINT events_archive_schema_version_check CHECK (schema_version > 0)
      )`);
    await q.query(`
      CREATE TABLE ${ARCHIVED_STREAMS_TABLE} (
        stream_id        text        NOT NULL,
        stream_type      text        NOT NULL,
        version          bigint      NOT NULL,
        events           integer     NOT NULL,
        last_recorded_at timestamptz NOT NULL,
        archived_at      timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT archived_streams_pkey PRIMARY KEY (stream_id),
        CONSTRAINT archived_streams_version_check CHECK (version > 0)
      )`);

    // Facts stay facts; only the archiving path may move them (DELETE from events, never UPDATE).
    await q.query(`
      CREATE OR REPLACE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' AND current_setting('${ARCHIVING_SETTING}', true) = 'on' THEN
          RETURN NULL;
        END IF;
        RAISE EXCEPTION '% are append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_archive_append_only BEFORE UPDATE OR DELETE ON ${EVENTS_ARCHIVE_TABLE}
      FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable()`);

    // History: a due snapshot is a new row; loads take the newest (a backward scan of this key).
    await q.query(`ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey`);
    await q.query(
      `ALTER TABLE snapshots ADD CONSTRAINT snapshots_pkey PRIMARY KEY (stream_id, state_schema_version, version)`,
    );

    await q.query(appendFunction());

    // Nothing by default, for the new role too (as 1764000000004 did for the others), then per object.
    await q.query(`REVOKE ALL ON ${EVENTS_ARCHIVE_TABLE}, ${ARCHIVED_STREAMS_TABLE} FROM PUBLIC, ${command}, ${relay}`);
    await q.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${reader}`);
    await q.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${reader}`);
    await q.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM ${reader}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM ${reader}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${reader}`);
    await q.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON FUNCTIONS FROM ${reader}`);
    await q.query(`GRANT SELECT ON ${EVENTS_ARCHIVE_TABLE}, ${ARCHIVED_STREAMS_TABLE} TO ${command}`);
    await q.query(`REVOKE UPDATE ON snapshots FROM ${command}`);
    await q.query(`GRANT SELECT, INSERT, DELETE ON snapshots TO ${command}`);
    await q.query(`GRANT SELECT ON events, ${EVENTS_ARCHIVE_TABLE} TO ${reader}`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`REVOKE ALL ON events, ${EVENTS_ARCHIVE_TABLE} FROM ${reader}`);
    await q.query(`REVOKE DELETE ON snapshots FROM ${command}`);
    await q.query(`GRANT SELECT, INSERT, UPDATE ON snapshots TO ${command}`);

    // Back to one snapshot per stream and state schema version: the newest.
    await q.query(`
      DELETE FROM snapshots s WHERE EXISTS (
        SELECT 1 FROM snapshots n
        WHERE n.stream_id = s.stream_id AND n.state_schema_version = s.state_schema_version AND n.version > s.version)`);
    await q.query(`ALTER TABLE snapshots DROP CONSTRAINT snapshots_pkey`);
    await q.query(`ALTER TABLE snapshots ADD CONSTRAINT snapshots_pkey PRIMARY KEY (stream_id, state_schema_version)`);

    // Archived events go back where they came from, at their original positions: nothing is lost.
    await q.query(`
      INSERT INTO events (global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at)
      OVERRIDING SYSTEM VALUE
      SELECT global_position, event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at
      FROM ${EVENTS_ARCHIVE_TABLE} ORDER BY global_position`);
    await q.query(`DROP TABLE ${EVENTS_ARCHIVE_TABLE}`);
    await q.query(`DROP TABLE ${ARCHIVED_STREAMS_TABLE}`);
    await q.query(`
      CREATE OR REPLACE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);

    // The earlier function, as 1764000000002 created it, with its grant.
    await q.query(`DROP FUNCTION ${APPEND_SIGNATURE}`);
    await new CreateAppendFunction1764000000002().up(q);
    await q.query(`REVOKE ALL ON FUNCTION ${APPEND_FUNCTION} FROM PUBLIC`);
    await q.query(`GRANT EXECUTE ON FUNCTION ${APPEND_FUNCTION}, ${APPEND_BATCH_FUNCTION} TO ${command}`);
  }
}

/**
 * {@link APPEND_FUNCTION} as of this migration; see 1764000000002 for the rest of its contract.
 * CREATE OR REPLACE keeps its grants.
 */
function appendFunction(): string {
  return `
      CREATE OR REPLACE FUNCTION ${APPEND_FUNCTION}(
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
        -- Guard: without it a writer that decided on a stale version could leave a gap. An
        -- archived stream's events left this table; archived_streams keeps its version, so the
        -- stream continues after it and nobody writes a second version N. (One statement, one
        -- snapshot: an archiving that commits meanwhile is seen wholly or not at all.)
        IF greatest(
             (SELECT coalesce(max(e.version), 0) FROM events e WHERE e.stream_id = p_stream_id),
             (SELECT coalesce(max(a.version), 0) FROM ${ARCHIVED_STREAMS_TABLE} a WHERE a.stream_id = p_stream_id)
           ) <> p_expected_version THEN
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

        -- Snapshots keep history: a new row (pruned by the store's snapshot maintenance).
        IF p_snapshot_state IS NOT NULL THEN
          INSERT INTO snapshots (stream_id, state_schema_version, version, state)
          VALUES (p_stream_id, p_snapshot_schema_version, p_expected_version + cardinality(p_event_ids), p_snapshot_state)
          ON CONFLICT DO NOTHING;
        END IF;
      END $fn$`;
}
