const GENESIS = "decode(repeat('00', 32), 'hex')";

/**
 * Schema step 7 (issue 15, performance): `eventfold_append` hashes the events it writes itself, and
 * records one chain batch per call instead of one per INSERT statement.
 *
 * Profiled before (in-server, 16 appends of one event per call): the chain cost ~115 µs per event, most
 * of it the statement trigger, which recorded and tried to seal one batch per append of the group (step
 * 3 inserts each append by its own statement), and the row trigger, which looked up each event's
 * predecessor by index and ran as a PL/pgSQL call per row. Now:
 * - the function reads a stream's head hash once per append (a stream already written earlier in the
 *   group continues from the hash it just computed), chains the append's events in memory with the
 *   same `eventfold_event_hash` encoding, and inserts the rows with their hashes;
 * - it records the whole call's events as one batch (their hashes in sequence order, which is insert
 *   order) and seals pending batches once;
 * - the row trigger fires only for rows inserted without a hash, and the statement trigger not at all
 *   while the function inserts (a transaction-local setting it sets around its inserts). So rows written
 *   any other way (`importEvents`, SQL by hand) are hashed and batched exactly as before.
 * - the unique index on the batch number leaves out batches not sealed yet. As a plain UNIQUE constraint
 *   it held an entry for every batch as inserted (NULL), left dead by the sealing UPDATE until vacuum, so
 *   the sealer's search for pending batches (which the planner ran on that index) and its read of the
 *   chain head walked over more dead entries the more batches had been written since the last vacuum.
 * What `verify` checks is unchanged: every event's hash over its predecessor, every batch's recorded
 * hashes against its events, the sealed `$all` chain. Batches already stored stay as they are.
 */
export const CHAINED_APPEND_MIGRATION = `
  ALTER TABLE eventfold_chain DROP CONSTRAINT eventfold_chain_batch_key;
  CREATE UNIQUE INDEX eventfold_chain_batch ON eventfold_chain (batch) WHERE batch IS NOT NULL;
  DROP TRIGGER eventfold_hash_event ON eventfold_events;
  CREATE TRIGGER eventfold_hash_event BEFORE INSERT ON eventfold_events FOR EACH ROW
    WHEN (NEW.hash IS NULL) EXECUTE FUNCTION eventfold_hash_event();
  DROP TRIGGER eventfold_seal_batch ON eventfold_events;
  CREATE TRIGGER eventfold_seal_batch AFTER INSERT ON eventfold_events REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT WHEN (current_setting('eventfold.append_chains', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION eventfold_seal_batch();
  CREATE OR REPLACE FUNCTION eventfold_append(
     p_streams text[], p_expected text[], p_counts int[],
     p_ids uuid[], p_types text[], p_data text[], p_metadata text[], p_correlation text[]
   ) RETURNS TABLE (o_status text, o_revision bigint, o_transaction_id text, o_sequence bigint,
                    o_prior_stream text, o_prior_revision bigint)
   LANGUAGE plpgsql AS $fn$
   DECLARE
     v_appends int := coalesce(array_length(p_streams, 1), 0);
     v_names text[] := '{}';
     v_current bigint[] := '{}';
     v_heads bytea[] := '{}';
     v_first_ids uuid[] := '{}';
     v_status text[] := '{}';
     v_base bigint[] := '{}';
     v_revisions bigint[] := '{}';
     v_sequences bigint[] := '{}';
     v_prior_streams text[] := '{}';
     v_prior_revisions bigint[] := '{}';
     v_slots int[] := '{}';
     v_hashes bytea[];
     v_group_hashes bytea[] := '{}';
     v_first_sequence bigint;
     v_last_sequence bigint;
     v_low bigint;
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
     v_previous bytea;
     v_stream_digest bytea;
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
         -- The stream's revision and its head's hash in one statement (the chain continues from it).
         v_previous := NULL;
         SELECT s.revision, (SELECT e.hash FROM eventfold_events e WHERE e.stream_name = s.stream_name AND e.revision = s.revision)
           INTO v_cur, v_previous FROM eventfold_streams s WHERE s.stream_name = p_streams[i];
         v_names := v_names || p_streams[i];
         v_current := v_current || coalesce(v_cur, -1);
         v_heads := v_heads || coalesce(v_previous, ${GENESIS});
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
         IF NOT v_wrote THEN
           -- Until the end of this call: the statement trigger leaves this function's rows to it.
           PERFORM set_config('eventfold.append_chains', 'on', true);
           v_wrote := true;
         END IF;
         -- The stream's head hash, as the row trigger would read it (a missing one chains from genesis).
         v_previous := v_heads[v_slot];
         INSERT INTO eventfold_streams (stream_name, revision) VALUES (p_streams[i], v_cur + v_count)
           ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision;
         IF v_count = 1 THEN
           v_previous := eventfold_event_hash(v_previous, p_streams[i], v_cur + 1, v_first::text, p_types[v_offset + 1],
                                              p_data[v_offset + 1], p_metadata[v_offset + 1]);
           INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, hash)
             VALUES (v_first, p_streams[i], v_cur + 1, p_types[v_offset + 1], p_data[v_offset + 1],
                     p_metadata[v_offset + 1], p_correlation[v_offset + 1], v_previous)
             RETURNING sequence INTO v_sequence;
           v_low := v_sequence;
           v_group_hashes := v_group_hashes || v_previous;
         ELSE
           -- Each event's digests are independent of the chain: computed set-wise, then chained in order.
           v_stream_digest := sha256(convert_to(p_streams[i], 'UTF8'));
           v_hashes := '{}';
           FOR k IN 1 .. v_count LOOP
             v_previous := sha256(convert_to('eventfold/event/v1', 'UTF8') || v_previous || v_stream_digest || int8send(v_cur + k)
                                  || sha256(convert_to(p_ids[v_offset + k]::text, 'UTF8')) || sha256(convert_to(p_types[v_offset + k], 'UTF8'))
                                  || sha256(convert_to(p_data[v_offset + k], 'UTF8')) || sha256(convert_to(p_metadata[v_offset + k], 'UTF8')));
             v_hashes := v_hashes || v_previous;
             v_group_hashes := v_group_hashes || v_previous;
           END LOOP;
           WITH inserted AS (
             INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, correlation_id, hash)
             SELECT p_ids[v_offset + k], p_streams[i], v_cur + k, p_types[v_offset + k], p_data[v_offset + k],
                    p_metadata[v_offset + k], p_correlation[v_offset + k], v_hashes[k]
               FROM generate_series(1, v_count) AS k
              ORDER BY k
             RETURNING sequence
           )
           SELECT min(sequence), max(sequence) INTO v_low, v_sequence FROM inserted;
         END IF;
         v_heads[v_slot] := v_previous;
         v_first_sequence := coalesce(v_first_sequence, v_low);
         v_last_sequence := v_sequence;
       END IF;
       v_sequences := v_sequences || v_sequence;
       v_prior_streams := v_prior_streams || v_known_stream;
       v_prior_revisions := v_prior_revisions || v_known_revision;
       v_revisions := v_revisions || v_current[v_slot];
       v_offset := v_offset + v_count;
     END LOOP;
     IF v_wrote THEN
       PERFORM set_config('eventfold.append_chains', '', true);
       INSERT INTO eventfold_chain (transaction_id, first_sequence, last_sequence, event_count, hashes)
         SELECT pg_current_xact_id(), v_first_sequence, v_last_sequence, cardinality(v_group_hashes), string_agg(h, ''::bytea ORDER BY o)
           FROM unnest(v_group_hashes) WITH ORDINALITY AS t(h, o);
       PERFORM eventfold_seal_pending();
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
   $fn$;`;
