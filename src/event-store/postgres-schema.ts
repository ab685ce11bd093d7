/**
 * The PostgreSQL schema, as versioned steps applied once each under an advisory lock, so that many
 * processes starting at once migrate exactly once.
 *
 * Why positions are (transaction id, sequence): a sequence number is taken when a row is inserted,
 * but becomes visible when its transaction commits, so sequence 11 can be visible while 10 is still
 * uncommitted. A reader that checkpoints at 11 would skip 10 forever. Instead every event records the
 * id of the transaction that wrote it (`pg_current_xact_id()`), readers order by (transaction id,
 * sequence) and only read events whose transaction id is below the oldest transaction still running
 * (`pg_snapshot_xmin(pg_current_snapshot())`). Every transaction below that bound has finished, and any
 * transaction that commits later has an id at or above it, so it sorts after everything already read.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE eventfold_streams (
     stream_name text PRIMARY KEY,
     revision bigint NOT NULL
   );
   CREATE TABLE eventfold_events (
     transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
     sequence bigserial NOT NULL,
     event_id uuid NOT NULL,
     stream_name text NOT NULL,
     revision bigint NOT NULL,
     type text NOT NULL,
     data text NOT NULL,
     metadata text NOT NULL,
     correlation_id text,
     recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
     PRIMARY KEY (transaction_id, sequence),
     CONSTRAINT eventfold_events_event_id UNIQUE (event_id),
     CONSTRAINT eventfold_events_stream_revision UNIQUE (stream_name, revision)
   );
   CREATE INDEX eventfold_events_correlation ON eventfold_events (correlation_id, transaction_id, sequence)
     WHERE correlation_id IS NOT NULL;`,
  // One call appends a whole group of appends: one round trip and one commit for many writers.
  // Stream locks are advisory locks taken in a fixed order *before* the transaction writes anything,
  // hence before it is given a transaction id. So a transaction that waited for a stream gets its id
  // after the previous writer of that stream committed, and a stream's events sort in revision order
  // in $all too. The fixed order also rules out deadlocks between groups.
  `CREATE FUNCTION eventfold_append(
     p_streams text[], p_expected text[], p_counts int[],
     p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_correlation text[]
   ) RETURNS TABLE (o_status text, o_revision bigint, o_transaction_id text, o_sequence bigint,
                    o_prior_stream text, o_prior_revision bigint)
   LANGUAGE plpgsql AS $fn$
   DECLARE
     v_index int;
     v_count int;
     v_offset int := 0;
     v_stream text;
     v_expected text;
     v_current bigint;
     v_prior_stream text;
     v_prior_revision bigint;
     v_last bigint;
     v_wrote boolean := false;
   BEGIN
     PERFORM pg_advisory_xact_lock(lock_key)
       FROM (SELECT DISTINCT hashtextextended(name, 7291) AS lock_key FROM unnest(p_streams) AS name) AS keys
       ORDER BY lock_key;
     FOR v_index IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
       v_stream := p_streams[v_index];
       v_expected := p_expected[v_index];
       v_count := p_counts[v_index];
       v_prior_stream := NULL;
       v_prior_revision := NULL;
       SELECT e.stream_name, e.revision INTO v_prior_stream, v_prior_revision
         FROM eventfold_events e WHERE e.event_id = p_ids[v_offset + 1];
       SELECT s.revision INTO v_current FROM eventfold_streams s WHERE s.stream_name = v_stream;
       v_current := coalesce(v_current, -1);
       IF v_prior_stream IS NOT NULL THEN
         RETURN QUERY SELECT 'repeat'::text, v_current, NULL::text, NULL::bigint, v_prior_stream, v_prior_revision;
       ELSIF NOT (v_expected = 'any'
                  OR (v_expected = 'no_stream' AND v_current = -1)
                  OR (v_expected = 'stream_exists' AND v_current >= 0)
                  OR (v_expected ~ '^-?[0-9]+$' AND v_expected::bigint = v_current)) THEN
         RETURN QUERY SELECT 'wrong'::text, v_current, NULL::text, NULL::bigint, NULL::text, NULL::bigint;
       ELSE
         WITH inserted AS (
           INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id)
           SELECT p_ids[v_offset + k], v_stream, v_current + k, p_types[v_offset + k], p_data[v_offset + k],
                  p_metadata[v_offset + k], p_correlation[v_offset + k]
             FROM generate_series(1, v_count) AS k
             ORDER BY k
           RETURNING sequence
         )
         SELECT max(sequence) INTO v_last FROM inserted;
         v_current := v_current + v_count;
         INSERT INTO eventfold_streams (stream_name, revision) VALUES (v_stream, v_current)
           ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision;
         v_wrote := true;
         RETURN QUERY SELECT 'ok'::text, v_current, pg_current_xact_id()::text, v_last, NULL::text, NULL::bigint;
       END IF;
       v_offset := v_offset + v_count;
     END LOOP;
     IF v_wrote THEN
       PERFORM pg_notify('eventfold_events', '');
     END IF;
   END
   $fn$;`,
];
