import type pg from 'pg';
import type { AppendHook } from '../../event-store/append-hook';
import type { EventMetadata, JsonValue, RecordedEvent } from '../../event-store/event-store';
import { Position } from '../../event-store/position';
import type { PostgresAppendHookContext } from './append-hook-context';
import { appendGroup, failGroup, isConstraintViolation, settleGroup, type AppendRow, type PendingAppend } from './group-append';
import { withTransaction } from './pool';
import { storeUnavailable } from './store-unavailable';

/** Serialises group commits while append hooks are registered, so that inline checkpoints advance in order. */
const HOOKED_APPEND_LOCK = 7_291_002;
/** This transaction's events, and what came before them (see `PostgresAppendHookContext.ordered`). */
const HOOK_CONTEXT = `SELECT transaction_id::text AS transaction_text, sequence, event_id::text AS event_text, stream_name, revision,
    type, data, metadata, recorded_at
  FROM eventfold_events WHERE transaction_id = pg_current_xact_id() ORDER BY sequence;
  SELECT pg_snapshot_xmin(pg_current_snapshot()) = pg_current_xact_id() AS ordered,
         (SELECT transaction_id::text FROM eventfold_events WHERE transaction_id < pg_current_xact_id()
           ORDER BY transaction_id DESC, sequence DESC LIMIT 1) AS head_transaction,
         (SELECT sequence FROM eventfold_events WHERE transaction_id < pg_current_xact_id()
           ORDER BY transaction_id DESC, sequence DESC LIMIT 1) AS head_sequence`;
const TYPED_BEFORE = `SELECT 1 FROM eventfold_events
  WHERE (transaction_id, sequence) > ($1::xid8, $2::bigint) AND transaction_id < pg_current_xact_id() AND type = ANY($3::text[])
  LIMIT 1`;

interface EventRow {
  transaction_text: string;
  sequence: string;
  event_text: string;
  stream_name: string;
  revision: string;
  type: string;
  data: string;
  metadata: string;
  recorded_at: Date;
}

interface HeadRow {
  ordered: boolean;
  head_transaction: string | null;
  head_sequence: string | null;
}

/**
 * The group commit with hooks, in an explicit transaction: the advisory lock, the append, this
 * transaction's events, the hooks, the commit. When a hook throws, everything rolls back; a group is
 * then retried one append at a time, so only the append whose events the hook refused fails.
 */
export async function appendGroupWithHooks(
  pool: pg.Pool,
  group: readonly PendingAppend[],
  hooks: readonly AppendHook[],
  attempt = 1,
): Promise<void> {
  let rows: AppendRow[] = [];
  let context: PostgresAppendHookContext | undefined;
  let hookFailure: { error: unknown } | undefined;
  let cannotConnect: Error | undefined;
  try {
    await withTransaction(
      pool,
      async (client) => {
        rows = await appendGroup(group, client);
        if (!rows.some((row) => row.o_status === 'ok')) return;
        context = await hookContext(client);
        try {
          for (const hook of hooks) await hook.beforeCommit(context);
        } catch (error) {
          hookFailure = { error };
          throw error;
        }
      },
      {
        begin: `BEGIN; SELECT pg_advisory_xact_lock(${HOOKED_APPEND_LOCK})`,
        cannotConnect: (error) => (cannotConnect = storeUnavailable('cannot connect', error)),
      },
    );
  } catch (error) {
    if (error === cannotConnect) {
      for (const append of group) append.reject(error);
      return;
    }
    // A hook's writes can deadlock with a projection batch of another connection: the database
    // picked this transaction to abort, which says nothing about the appends. Run it again.
    if (hookFailure && attempt < 3 && isDeadlock(hookFailure.error)) {
      await appendGroupWithHooks(pool, group, hooks, attempt + 1);
      return;
    }
    if (hookFailure || (group.length > 1 && isConstraintViolation(error))) {
      if (group.length > 1) {
        for (const append of group) await appendGroupWithHooks(pool, [append], hooks);
        return;
      }
      if (hookFailure) {
        group[0]!.reject(hookFailure.error);
        return;
      }
    }
    await failGroup(pool, group, error);
    return;
  }
  if (context) {
    for (const hook of hooks) {
      try {
        hook.afterCommit?.(context);
      } catch {
        // The events are committed; a hook that fails to hear of it must not turn the append into a failure.
      }
    }
  }
  await settleGroup(pool, group, rows);
}

async function hookContext(connection: pg.PoolClient): Promise<PostgresAppendHookContext> {
  const [recorded, before] = (await connection.query(HOOK_CONTEXT)) as unknown as [pg.QueryResult<EventRow>, pg.QueryResult<HeadRow>];
  const head = before.rows[0]!;
  return {
    backend: 'postgres',
    connection,
    events: recorded.rows.map(toRecordedEvent),
    ordered: head.ordered,
    previousHead: head.head_transaction === null ? undefined : Position.of(BigInt(head.head_transaction), BigInt(head.head_sequence!)),
    hasEventsBefore: async (after, eventTypes) =>
      (
        await connection.query({
          name: 'eventfold_typed_before',
          text: TYPED_BEFORE,
          values: [after?.commit.toString() ?? '0', after?.prepare.toString() ?? '0', eventTypes],
        })
      ).rows.length > 0,
  };
}

function toRecordedEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_text,
    type: row.type,
    streamName: row.stream_name,
    revision: BigInt(row.revision),
    position: Position.of(BigInt(row.transaction_text), BigInt(row.sequence)),
    data: JSON.parse(row.data) as JsonValue,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    recordedAt: row.recorded_at,
  };
}

/** A deadlock or serialisation failure anywhere in the error's cause chain. */
function isDeadlock(error: unknown): boolean {
  for (let current = error, depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === '40P01' || code === '40001') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
