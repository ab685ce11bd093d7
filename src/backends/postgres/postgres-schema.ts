import { CHAINED_APPEND_MIGRATION } from './postgres-chained-append';
import { ARCHIVE_MIGRATION, HASH_CHAIN_MIGRATION, LIFECYCLE_MIGRATION } from './postgres-hash-chain';

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
  // One call appends a whole group of appends: one round trip and one commit for many writers, and a
  // fixed number of statements however large the group (the decisions are made in memory).
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
     v_appends int := coalesce(array_length(p_streams, 1), 0);
     v_names text[];
     v_current bigint[];
     v_initial bigint[];
     v_first_ids uuid[] := array_fill(NULL::uuid, ARRAY[v_appends]);
     v_known_ids uuid[];
     v_known_streams text[];
     v_known_revisions bigint[];
     v_status text[] := array_fill(NULL::text, ARRAY[v_appends]);
     v_base bigint[] := array_fill(NULL::bigint, ARRAY[v_appends]);
     v_final bigint[] := array_fill(NULL::bigint, ARRAY[v_appends]);
     v_prior_stream text[] := array_fill(NULL::text, ARRAY[v_appends]);
     v_prior_revision bigint[] := array_fill(NULL::bigint, ARRAY[v_appends]);
     v_offset int := 0;
     v_slot int;
     v_known int;
     v_earlier int;
     v_cur bigint;
     v_expected text;
     v_wrote boolean := false;
   BEGIN
     PERFORM pg_advisory_xact_lock(lock_key)
       FROM (SELECT DISTINCT hashtextextended(name, 7291) AS lock_key FROM unnest(p_streams) AS name) AS keys
       ORDER BY lock_key;
     FOR i IN 1 .. v_appends LOOP
       v_first_ids[i] := p_ids[v_offset + 1];
       v_offset := v_offset + p_counts[i];
     END LOOP;
     SELECT array_agg(names.name), array_agg(coalesce(s.revision, -1))
       INTO v_names, v_current
       FROM (SELECT DISTINCT name FROM unnest(p_streams) AS name) AS names
       LEFT JOIN eventfold_streams s ON s.stream_name = names.name;
     v_initial := v_current;
     SELECT array_agg(e.event_id), array_agg(e.stream_name), array_agg(e.revision)
       INTO v_known_ids, v_known_streams, v_known_revisions
       FROM eventfold_events e WHERE e.event_id = ANY(v_first_ids);
     FOR i IN 1 .. v_appends LOOP
       v_slot := array_position(v_names, p_streams[i]);
       v_cur := v_current[v_slot];
       v_expected := p_expected[i];
       v_known := array_position(v_known_ids, v_first_ids[i]);
       -- The same append twice in one group (a retry racing the original) is a repeat of the earlier one.
       v_earlier := array_position(v_first_ids[1:i - 1], v_first_ids[i]);
       IF v_known IS NOT NULL THEN
         v_status[i] := 'repeat';
         v_prior_stream[i] := v_known_streams[v_known];
         v_prior_revision[i] := v_known_revisions[v_known];
       ELSIF v_earlier IS NOT NULL AND v_status[v_earlier] = 'ok' THEN
         v_status[i] := 'repeat';
         v_prior_stream[i] := p_streams[v_earlier];
         v_prior_revision[i] := v_base[v_earlier] + 1;
       ELSIF NOT (v_expected = 'any'
                  OR (v_expected = 'no_stream' AND v_cur = -1)
                  OR (v_expected = 'stream_exists' AND v_cur >= 0)
                  OR (v_expected ~ '^-?[0-9]+$' AND v_expected::bigint = v_cur)) THEN
         v_status[i] := 'wrong';
       ELSE
         v_status[i] := 'ok';
         v_base[i] := v_cur;
         v_current[v_slot] := v_cur + p_counts[i];
         v_wrote := true;
       END IF;
       v_final[i] := v_current[v_slot];
     END LOOP;
     IF v_wrote THEN
       INSERT INTO eventfold_streams (stream_name, revision)
         SELECT name, revision FROM unnest(v_names, v_current, v_initial) AS t(name, revision, initial)
         WHERE revision <> initial
         ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision;
       PERFORM pg_notify('eventfold_events', '');
     END IF;
     RETURN QUERY
       WITH appends AS (
         SELECT app, (sum(p_counts[app]) OVER (ORDER BY app) - p_counts[app])::int AS event_offset
           FROM generate_subscripts(p_streams, 1) AS app
       ), event_rows AS (
         SELECT a.app, k, a.event_offset + k AS idx
           FROM appends a, generate_series(1, p_counts[a.app]) AS k
          WHERE v_status[a.app] = 'ok'
       ), inserted AS (
         INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id)
         SELECT p_ids[r.idx], p_streams[r.app], v_base[r.app] + r.k, p_types[r.idx], p_data[r.idx],
                p_metadata[r.idx], p_correlation[r.idx]
           FROM event_rows r
          ORDER BY r.idx
         RETURNING stream_name, revision, sequence
       )
       SELECT v_status[a.app],
              CASE WHEN v_status[a.app] = 'ok' THEN v_final[a.app] ELSE v_current[array_position(v_names, p_streams[a.app])] END,
              CASE WHEN v_status[a.app] = 'ok' THEN pg_current_xact_id()::text END,
              ins.sequence,
              v_prior_stream[a.app],
              v_prior_revision[a.app]
         FROM generate_subscripts(p_streams, 1) AS a(app)
         LEFT JOIN inserted ins
           ON v_status[a.app] = 'ok' AND ins.stream_name = p_streams[a.app] AND ins.revision = v_final[a.app]
        ORDER BY a.app;
   END
   $fn$;`,
  // Step 3 (issue 15, performance): the same contract as step 2, in statements PostgreSQL plans
  // cheaply. Step 2's set-based statements (DISTINCT + LEFT JOIN over the names, `= ANY` over the first
  // ids, the unnest upsert, one INSERT … RETURN QUERY with a window over the group) were re-planned
  // on every call: ~1 ms of server CPU for a single one-event append, against ~0.16 ms for the same
  // rows written by one hand-written statement (measured in-server, alternating; bench/README.md).
  // Here each append of the group is handled in turn with single-row statements (a primary-key read
  // of the stream, a unique-index read of the first id, one upsert, one insert), whose plans are
  // cached: ~0.25 ms for a single append. What stays the same: every stream's advisory lock is taken
  // first, in a fixed order, before anything is written (so a stream's events sort in revision
  // order in $all); a group's rows are inserted in the group's order (sequences rise in it); the
  // outcome rows, including a refused append's revision after the whole group, are as before.
  `CREATE OR REPLACE FUNCTION eventfold_append(
     p_streams text[], p_expected text[], p_counts int[],
     p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_correlation text[]
   ) RETURNS TABLE (o_status text, o_revision bigint, o_transaction_id text, o_sequence bigint,
                    o_prior_stream text, o_prior_revision bigint)
   LANGUAGE plpgsql AS $fn$
   DECLARE
     v_appends int := coalesce(array_length(p_streams, 1), 0);
     v_names text[] := '{}';
     v_current bigint[] := '{}';
     v_first_ids uuid[] := '{}';
     v_status text[] := '{}';
     v_base bigint[] := '{}';
     v_statuses text[] := '{}';
     v_revisions bigint[] := '{}';
     v_sequences bigint[] := '{}';
     v_prior_streams text[] := '{}';
     v_prior_revisions bigint[] := '{}';
     v_slots int[] := '{}';
     v_transaction text;
     v_offset int := 0;
     v_count int;
     v_slot int;
     v_earlier int;
     v_cur bigint;
     v_expected text;
     v_first uuid;
     v_known_stream text;
     v_known_revision bigint;
     v_sequence bigint;
     v_wrote boolean := false;
   BEGIN
     IF v_appends = 1 THEN
       PERFORM pg_advisory_xact_lock(hashtextextended(p_streams[1], 7291));
     ELSE
       PERFORM pg_advisory_xact_lock(lock_key)
         FROM (SELECT DISTINCT hashtextextended(name, 7291) AS lock_key FROM unnest(p_streams) AS name) AS keys
         ORDER BY lock_key;
     END IF;
     FOR i IN 1 .. v_appends LOOP
       v_count := p_counts[i];
       v_first := p_ids[v_offset + 1];
       v_slot := CASE WHEN i = 1 THEN NULL ELSE array_position(v_names, p_streams[i]) END;
       IF v_slot IS NULL THEN
         SELECT s.revision INTO v_cur FROM eventfold_streams s WHERE s.stream_name = p_streams[i];
         v_names := v_names || p_streams[i];
         v_current := v_current || coalesce(v_cur, -1);
         v_slot := cardinality(v_names);
       END IF;
       v_slots := v_slots || v_slot;
       v_cur := v_current[v_slot];
       v_expected := p_expected[i];
       v_known_stream := NULL;
       v_known_revision := NULL;
       SELECT e.stream_name, e.revision INTO v_known_stream, v_known_revision FROM eventfold_events e WHERE e.event_id = v_first;
       -- The same append twice in one group (a retry racing the original) is a repeat of the earlier one.
       v_earlier := CASE WHEN i = 1 THEN NULL ELSE array_position(v_first_ids, v_first) END;
       v_first_ids := v_first_ids || v_first;
       v_sequence := NULL;
       IF v_known_stream IS NOT NULL THEN
         v_status := v_status || 'repeat'::text;
         v_base := v_base || NULL::bigint;
       ELSIF v_earlier IS NOT NULL AND v_status[v_earlier] = 'ok' THEN
         v_status := v_status || 'repeat'::text;
         v_base := v_base || NULL::bigint;
         v_known_stream := p_streams[v_earlier];
         v_known_revision := v_base[v_earlier] + 1;
       ELSIF NOT (v_expected = 'any'
                  OR (v_expected = 'no_stream' AND v_cur = -1)
                  OR (v_expected = 'stream_exists' AND v_cur >= 0)
                  OR (v_expected ~ '^-?[0-9]+$' AND v_expected::bigint = v_cur)) THEN
         v_status := v_status || 'wrong'::text;
         v_base := v_base || NULL::bigint;
       ELSE
         v_status := v_status || 'ok'::text;
         v_base := v_base || v_cur;
         v_current[v_slot] := v_cur + v_count;
         v_wrote := true;
         INSERT INTO eventfold_streams (stream_name, revision) VALUES (p_streams[i], v_cur + v_count)
           ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision;
         IF v_count = 1 THEN
           INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id)
             VALUES (v_first, p_streams[i], v_cur + 1, p_types[v_offset + 1], p_data[v_offset + 1],
                     p_metadata[v_offset + 1], p_correlation[v_offset + 1])
             RETURNING sequence INTO v_sequence;
         ELSE
           WITH inserted AS (
             INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id)
             SELECT p_ids[v_offset + k], p_streams[i], v_cur + k, p_types[v_offset + k], p_data[v_offset + k],
                    p_metadata[v_offset + k], p_correlation[v_offset + k]
               FROM generate_series(1, v_count) AS k
              ORDER BY k
             RETURNING sequence
           )
           SELECT max(sequence) INTO v_sequence FROM inserted;
         END IF;
       END IF;
       v_sequences := v_sequences || v_sequence;
       v_prior_streams := v_prior_streams || v_known_stream;
       v_prior_revisions := v_prior_revisions || v_known_revision;
       v_revisions := v_revisions || v_current[v_slot];
       v_offset := v_offset + v_count;
     END LOOP;
     IF v_wrote THEN
       PERFORM pg_notify('eventfold_events', '');
       v_transaction := pg_current_xact_id()::text;
     END IF;
     FOR i IN 1 .. v_appends LOOP
       o_status := v_status[i];
       o_prior_stream := v_prior_streams[i];
       o_prior_revision := v_prior_revisions[i];
       IF v_status[i] = 'ok' THEN
         o_revision := v_revisions[i];
         o_transaction_id := v_transaction;
         o_sequence := v_sequences[i];
       ELSE
         -- As before: where a refused append's stream stands once the whole group is decided.
         o_revision := v_current[v_slots[i]];
         o_transaction_id := NULL;
         o_sequence := NULL;
       END IF;
       RETURN NEXT;
     END LOOP;
   END
   $fn$;`,
  // Step 4, the hash chain: see postgres-hash-chain.ts.
  HASH_CHAIN_MIGRATION,
  // Step 5, stream metadata and soft deletes: see postgres-hash-chain.ts.
  LIFECYCLE_MIGRATION,
  // Step 6, archiving (stubs of archived events): see postgres-hash-chain.ts.
  ARCHIVE_MIGRATION,
  // Step 7, the append function hashes and records its batch itself: see postgres-chained-append.ts.
  CHAINED_APPEND_MIGRATION,
];
