import type pg from 'pg';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../../event-store/errors';
import type { AppendResult, EventMetadata, ExpectedRevision, JsonValue } from '../../event-store/event-store';
import { resolveRepeatedAppend } from '../../event-store/idempotency';
import { Position } from '../../event-store/position';
import type { PreparedEvent } from '../../event-store/validation';
import { storeUnavailable } from './store-unavailable';

/** One caller's append, waiting in the queue for a group commit to take it. */
export interface PendingAppend {
  readonly streamName: string;
  readonly events: readonly PreparedEvent[];
  readonly expected: ExpectedRevision;
  readonly resolve: (result: AppendResult) => void;
  readonly reject: (error: unknown) => void;
}

/** What `eventfold_append` (see postgres-schema.ts) answers for each append of a group, in order. */
export interface AppendRow {
  o_status: 'ok' | 'wrong' | 'repeat';
  o_revision: string;
  o_transaction_id: string | null;
  o_sequence: string | null;
  o_prior_stream: string | null;
  o_prior_revision: string | null;
}

/**
 * Appends a whole group in one call of `eventfold_append`: one round trip, and one transaction unless
 * `client` is already inside one. The arrays are flat; `counts` says how many events each append has.
 */
export async function appendGroup(group: readonly PendingAppend[], client: pg.Pool | pg.PoolClient): Promise<AppendRow[]> {
  const streams: string[] = [];
  const expected: string[] = [];
  const counts: number[] = [];
  const ids: string[] = [];
  const types: string[] = [];
  const data: string[] = [];
  const metadata: string[] = [];
  const correlation: Array<string | null> = [];
  for (const append of group) {
    streams.push(append.streamName);
    expected.push(String(append.expected));
    counts.push(append.events.length);
    for (const event of append.events) {
      ids.push(event.id);
      types.push(event.type);
      data.push(event.data);
      metadata.push(event.metadata);
      correlation.push(event.correlationId);
    }
  }
  const result = await client.query<AppendRow>({
    name: 'eventfold_append',
    text: 'SELECT * FROM eventfold_append($1, $2, $3, $4, $5, $6, $7, $8)',
    values: [streams, expected, counts, ids, types, data, metadata, correlation],
  });
  return result.rows;
}

/** Settles every append of a committed group with its row's outcome. */
export async function settleGroup(pool: pg.Pool, group: readonly PendingAppend[], rows: readonly AppendRow[]): Promise<void> {
  await Promise.all(
    group.map(async (append, index) => {
      try {
        append.resolve(await outcome(pool, append, rows[index]!));
      } catch (error) {
        append.reject(error);
      }
    }),
  );
}

/** Rejects every append of a group that failed: a lone append learns why, a group only that it failed. */
export async function failGroup(pool: pg.Pool, group: readonly PendingAppend[], error: unknown): Promise<void> {
  const failure = await describeFailure(pool, group[0]!, error);
  for (const append of group) append.reject(group.length === 1 ? failure : storeUnavailable('append failed', error));
}

/** A unique violation or deadlock: one append of a group broke it, so running each alone isolates it. */
export function isConstraintViolation(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === '23505' || code === '40P01';
}

async function outcome(pool: pg.Pool, append: PendingAppend, row: AppendRow): Promise<AppendResult> {
  const current = BigInt(row.o_revision);
  switch (row.o_status) {
    case 'ok':
      return { revision: current, position: Position.of(BigInt(row.o_transaction_id!), BigInt(row.o_sequence!)) };
    case 'wrong':
      throw new WrongExpectedRevisionError(append.streamName, append.expected, current);
    case 'repeat': {
      const prior = { streamName: row.o_prior_stream!, revision: BigInt(row.o_prior_revision!) };
      const slots =
        prior.streamName === append.streamName
          ? (
              await pool.query<{ event_text: string; transaction_text: string; sequence: string; type: string; data: string; metadata: string }>(
                `SELECT event_id::text AS event_text, transaction_id::text AS transaction_text, sequence, type, data, metadata
                 FROM eventfold_events WHERE stream_name = $1 AND revision >= $2 AND archived IS NULL ORDER BY revision LIMIT $3`,
                [append.streamName, prior.revision.toString(), append.events.length],
              )
            ).rows.map((slot) => ({
              id: slot.event_text,
              position: Position.of(BigInt(slot.transaction_text), BigInt(slot.sequence)),
              type: slot.type,
              data: JSON.parse(slot.data) as JsonValue,
              metadata: JSON.parse(slot.metadata) as EventMetadata,
            }))
          : [];
      return resolveRepeatedAppend(
        append.streamName,
        append.events,
        append.expected,
        prior,
        slots,
        current,
      );
    }
    default: {
      const unknown: never = row.o_status;
      throw storeUnavailable(`unexpected append status ${String(unknown)}`, undefined);
    }
  }
}

async function describeFailure(pool: pg.Pool, append: PendingAppend, error: unknown): Promise<Error> {
  const constraint = (error as { constraint?: string }).constraint;
  if (constraint === 'eventfold_events_event_id') {
    const taken = await pool
      .query<{ event_text: string; stream_name: string; revision: string }>(
        'SELECT event_id::text AS event_text, stream_name, revision FROM eventfold_events WHERE event_id = ANY($1::uuid[]) LIMIT 1',
        [append.events.map((event) => event.id)],
      )
      .catch(() => undefined);
    const holder = taken?.rows[0];
    if (holder) {
      return new DuplicateEventIdError(holder.event_text, `stream "${holder.stream_name}" holds it at revision ${holder.revision}`);
    }
  }
  return storeUnavailable('append failed', error);
}
