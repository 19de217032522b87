import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The write side's tables (docs/architecture.md, section 4). Run as the owner role
 * so the database's default privileges hand the app role DML on them.
 */
export class CreateEventStore1764000000000 implements MigrationInterface {
  name = 'CreateEventStore1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE events (
        global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        event_id        uuid        NOT NULL,
        stream_id       text        NOT NULL,
        stream_type     text        NOT NULL,
        version         bigint      NOT NULL,
        type            text        NOT NULL,
        schema_version  integer     NOT NULL DEFAULT 1,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT events_event_id_key UNIQUE (event_id),
        -- Two writers deciding on the same version collide here instead of forking the stream.
        CONSTRAINT events_stream_id_version_key UNIQUE (stream_id, version),
        CONSTRAINT events_version_check CHECK (version > 0),
        CONSTRAINT events_schema_version_check CHECK (schema_version > 0)
      )`);
    // Events are facts: the app role has DML by default privileges, the table refuses to change.
    await q.query(`
      CREATE FUNCTION events_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await q.query(`
      CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_are_immutable()`);

    // One snapshot per stream and state schema version: during a rolling deploy old and new
    // instances each keep reading (and writing) the snapshot of their own state shape.
    await q.query(`
      CREATE TABLE snapshots (
        stream_id            text        NOT NULL,
        state_schema_version integer     NOT NULL,
        version              bigint      NOT NULL,
        state                jsonb       NOT NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT snapshots_pkey PRIMARY KEY (stream_id, state_schema_version),
        CONSTRAINT snapshots_version_check CHECK (version > 0)
      )`);

    // Debezium's outbox columns (EventRouter defaults) plus the ones placed as Kafka headers.
    // REPLICA IDENTITY stays DEFAULT: the publication only carries inserts.
    await q.query(`
      CREATE TABLE outbox (
        id               uuid        NOT NULL,
        aggregatetype    text        NOT NULL,
        aggregateid      text        NOT NULL,
        type             text        NOT NULL,
        payload          bytea       NOT NULL,
        "timestamp"      timestamptz NOT NULL DEFAULT now(),
        aggregateversion bigint      NOT NULL,
        traceparent      text,
        tracestate       text,
        correlationid    text,
        CONSTRAINT outbox_pkey PRIMARY KEY (id)
      )`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        scope          text        NOT NULL,
        key            text        NOT NULL,
        request_hash   text        NOT NULL,
        response       jsonb       NOT NULL,
        stream_id      text        NOT NULL,
        stream_version bigint      NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        expires_at     timestamptz NOT NULL,
        CONSTRAINT idempotency_keys_pkey PRIMARY KEY (scope, key),
        CONSTRAINT idempotency_keys_key_check CHECK (length(key) BETWEEN 1 AND 255)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_expires_at_idx ON idempotency_keys (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS idempotency_keys`);
    await q.query(`DROP TABLE IF EXISTS outbox`);
    await q.query(`DROP TABLE IF EXISTS snapshots`);
    await q.query(`DROP TABLE IF EXISTS events`);
    await q.query(`DROP FUNCTION IF EXISTS events_are_immutable()`);
  }
}
