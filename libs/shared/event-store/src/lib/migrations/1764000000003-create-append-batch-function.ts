import type { MigrationInterface, QueryRunner } from 'typeorm';
import { APPEND_FUNCTION } from './1764000000002-create-append-function';

/** Many appends in one call and one commit; see {@link CreateAppendBatchFunction1764000000003}. */
export const APPEND_BATCH_FUNCTION = 'cqrs_append_batch';

/**
 * Group commit: the store sends the appends that queued up while its earlier calls were in flight
 * as one call, so concurrent commands share a round trip, a transaction and a WAL flush instead of
 * paying one each. Each append is {@link APPEND_FUNCTION} in its own subtransaction (an exception
 * block), so one append's failure (a lost race, a broken constraint) rolls back that append alone
 * and comes back as its row's error; the others commit. Keep batches well under 64 appends: a
 * transaction with more than 64 subtransactions overflows PostgreSQL's per-backend subxid cache,
 * which slows every other backend's snapshots.
 *
 * Appends are given as flat arrays: per append (stream id, expected version, metadata, outbox
 * columns, snapshot, and `p_event_counts[i]`, its number of events) and per event (all appends'
 * events one after another). It returns one row per append, in order: the events' global
 * positions, or NULL positions and no error when the stream was not at the expected version, or
 * the error (SQLSTATE, message, constraint) that rolled the append back.
 */
export class CreateAppendBatchFunction1764000000003 implements MigrationInterface {
  name = 'CreateAppendBatchFunction1764000000003';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION ${APPEND_BATCH_FUNCTION}(
        p_stream_ids text[],
        p_stream_types text[],
        p_expected_versions bigint[],
        p_metadata jsonb[],
        p_event_counts integer[],
        p_outbox_aggregate_types text[],  -- NULL element: that append writes no outbox rows
        p_outbox_aggregate_ids text[],
        p_traceparents text[],
        p_tracestates text[],
        p_correlation_ids text[],
        p_snapshot_schema_versions integer[],
        p_snapshot_states jsonb[],        -- NULL element: no snapshot due
        p_event_ids uuid[],
        p_types text[],
        p_schema_versions integer[],
        p_data jsonb[],
        p_payloads bytea[],
        p_delete_outbox boolean
      ) RETURNS TABLE (append_index integer, global_positions bigint[], error_code text, error_message text, error_constraint text)
      LANGUAGE plpgsql VOLATILE AS $fn$
      DECLARE
        lo integer := 1;
        hi integer;
      BEGIN
        FOR i IN 1 .. coalesce(cardinality(p_stream_ids), 0) LOOP
          hi := lo + p_event_counts[i] - 1;
          append_index := i;
          global_positions := NULL;
          error_code := NULL;
          error_message := NULL;
          error_constraint := NULL;
          BEGIN
            SELECT array_agg(r.global_position ORDER BY r.version) INTO global_positions
            FROM ${APPEND_FUNCTION}(
              p_stream_ids[i], p_stream_types[i], p_expected_versions[i], p_metadata[i],
              p_event_ids[lo:hi], p_types[lo:hi], p_schema_versions[lo:hi], p_data[lo:hi],
              CASE WHEN p_outbox_aggregate_types[i] IS NULL THEN NULL ELSE p_payloads[lo:hi] END,
              p_outbox_aggregate_types[i], p_outbox_aggregate_ids[i], p_traceparents[i], p_tracestates[i], p_correlation_ids[i],
              p_delete_outbox, p_snapshot_schema_versions[i], p_snapshot_states[i]) r;
          EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS error_code = RETURNED_SQLSTATE, error_message = MESSAGE_TEXT, error_constraint = CONSTRAINT_NAME;
            global_positions := NULL;
          END;
          RETURN NEXT;
          lo := hi + 1;
        END LOOP;
      END $fn$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP FUNCTION IF EXISTS ${APPEND_BATCH_FUNCTION}(text[], text[], bigint[], jsonb[], integer[], text[], text[], text[], text[], text[], integer[], jsonb[], uuid[], text[], integer[], jsonb[], bytea[], boolean)`,
    );
  }
}
