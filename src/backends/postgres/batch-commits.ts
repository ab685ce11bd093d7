import type pg from 'pg';
import { Position } from '../../event-store/position';
import { BatchTransaction } from '../../projections/batch-transaction';
import { CheckpointConflictError, InvalidProjectionError, ReadModelUnavailableError } from '../../projections/errors';
import type { ProjectionTransaction, SqlParameter } from '../../projections/projection';
import { coversBefore, type BatchCommit, type BatchRequest, type InlineBatch, type SlotLayout } from '../../projections/read-model-store';
import { isPostgresAppendContext } from './append-hook-context';
import { documentTable, type DeferredWrite } from './document-table';
import { withClient } from './pool';
import { CHANGE_CHANNEL, changePayload } from './projection-changes';
import { readModelConnectionFailures } from './read-model-unavailable';

/**
 * A projection's batches: the documents, hand-written tables and checkpoint of one batch land together
 * or not at all, and the batch is announced on {@link CHANGE_CHANNEL} when it lands on the active slot.
 */
export class BatchCommits {
  /**
   * The checkpoint each slot had after this process's last batch of it: a batch that starts from it
   * skips the up-front check (the final statement checks anyway). Forgotten on any doubt.
   */
  private readonly knownCheckpoints = new Map<string, string | null>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly synchronousCommit: boolean,
  ) {}

  /** Forgets what this process knew of a slot's checkpoint: the slot is being created, dropped, or written elsewhere. */
  forget(layout: SlotLayout): void {
    this.knownCheckpoints.delete(`${layout.projection}\u0000${layout.id}`);
  }

  /**
   * One batch. A batch that only uses documents takes two round trips: the handler's reads (documents
   * loaded before it runs, outside any transaction), then one statement that moves the checkpoint if it
   * is still where the batch began and, only then, writes the documents and announces the batch. One
   * statement is one transaction, so the batch lands whole or not at all. The reads may run outside a
   * transaction because only the holder of the checkpoint writes the slot: had anyone else written it
   * in between, they would have moved the checkpoint, and this batch writes nothing. A handler that
   * runs its own SQL (`tx.execute` / `tx.query`) gets a real transaction, opened before its first
   * statement, and the same final statement then commits.
   *
   * Keeping the transaction to that final statement also matters to the event store: its readers only
   * see events of transactions older than every running one, so a long batch transaction would hold
   * back live events for everyone.
   */
  commit(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit> {
    const slotKey = `${layout.projection}\u0000${layout.id}`;
    const from = request.from?.toString() ?? null;
    const conflict = (): CheckpointConflictError => {
      this.knownCheckpoints.delete(slotKey);
      return new CheckpointConflictError(
        `the checkpoint of "${layout.projection}" (${layout.id}) has moved; this batch expected ${request.from?.toString() ?? 'start'}`,
      );
    };
    return withClient(
      this.pool,
      async (client, session) => {
        let known = this.knownCheckpoints.get(slotKey);
        if (known === undefined) {
          const row = (
            await client.query<{ position: string | null }>({
              name: 'eventfold_slot_checkpoint',
              text: 'SELECT position FROM eventfold_projection_slots WHERE name = $1 AND slot = $2',
              values: [layout.projection, layout.id],
            })
          ).rows[0];
          if (!row) throw new ReadModelUnavailableError(`slot ${layout.id} of "${layout.projection}" is missing`);
          known = row.position;
        }
        if (known !== from) throw conflict();
        const openTransaction = async (): Promise<void> => {
          if (session.inTransaction) return;
          await client.query('BEGIN');
          session.inTransaction = true;
        };
        const deferred: DeferredWrite[] = [];
        const tx = new BatchTransaction(layout, {
          dialect: 'postgres',
          documentTable: (table, indexes) => documentTable(client, table, indexes, deferred),
          execute: async (sql, parameters) => {
            await openTransaction();
            return (await client.query(sql, parameters as unknown[])).rowCount ?? 0;
          },
          query: async <Row extends object>(sql: string, parameters: readonly SqlParameter[]) => {
            await openTransaction();
            return (await client.query(sql, parameters as unknown[])).rows as Row[];
          },
        });
        await work(tx);
        const keys = await tx.flush();
        const to = request.to.toString();
        const values: unknown[] = [
          layout.projection,
          layout.id,
          to,
          request.eventCount,
          from,
          CHANGE_CHANNEL,
          changePayload(layout, to, keys),
          layout.version,
          layout.generation,
        ];
        const writes = deferred.map((write) => {
          const placeholder = `$${values.push(write.parameter)}`;
          return write.statement(placeholder, 'EXISTS (SELECT 1 FROM advanced)');
        });
        const result = await client.query<{ advanced: number }>(
          `WITH advanced AS (
             UPDATE eventfold_projection_slots SET position = $3, events_handled = events_handled + $4, failure = NULL, updated_at = now()
             WHERE name = $1 AND slot = $2 AND position IS NOT DISTINCT FROM $5::text
             RETURNING 1
           )${writes.map((write, index) => `, w${index} AS (${write})`).join('')}
           SELECT (SELECT count(*) FROM advanced)::int AS advanced,
                  (SELECT count(pg_notify($6, $7)) FROM eventfold_projections, advanced
                    WHERE name = $1 AND active_version = $8 AND active_generation = $9) AS notified${
                      this.synchronousCommit ? '' : ",\n                set_config('synchronous_commit', 'off', true) AS commit_mode"
                    }`,
          values,
        );
        if (result.rows[0]?.advanced !== 1) throw conflict();
        if (session.inTransaction) {
          await client.query('COMMIT');
          session.inTransaction = false;
        }
        this.knownCheckpoints.set(slotKey, to);
        return { keys };
      },
      readModelConnectionFailures('batch'),
    );
  }

  async commitInline(
    layout: SlotLayout,
    batch: InlineBatch,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit | undefined> {
    const { context, events } = batch;
    if (!isPostgresAppendContext(context)) {
      throw new InvalidProjectionError('a PostgreSQL read-model store runs inline projections of a PostgreSQL event store only');
    }
    // The append's connection, inside its transaction. The checkpoint row stays locked until the append
    // commits, so a runner's batch of the same slot waits and then sees the moved checkpoint.
    const client = context.connection;
    this.knownCheckpoints.delete(`${layout.projection}\u0000${layout.id}`);
    const result = await client.query<{ position: string | null }>({
      name: 'eventfold_inline_checkpoint',
      text: 'SELECT position FROM eventfold_projection_slots WHERE name = $1 AND slot = $2 FOR UPDATE',
      values: [layout.projection, layout.id],
    });
    const row = result.rows[0];
    if (!row) return undefined;
    const checkpoint = row.position === null ? undefined : Position.parse(row.position);
    if (!(await coversBefore(checkpoint, context, batch.eventTypes))) return undefined;
    const tx = new BatchTransaction(layout, {
      dialect: 'postgres',
      documentTable: (table, indexes) => documentTable(client, table, indexes),
      execute: async (sql, parameters) => (await client.query(sql, parameters as unknown[])).rowCount ?? 0,
      query: async <Row extends object>(sql: string, parameters: readonly SqlParameter[]) =>
        (await client.query(sql, parameters as unknown[])).rows as Row[],
    });
    await work(tx);
    const keys = await tx.flush();
    const to = events[events.length - 1]!.position.toString();
    await client.query(
      `WITH advanced AS (
         UPDATE eventfold_projection_slots SET position = $3, events_handled = events_handled + $4, failure = NULL, updated_at = now()
         WHERE name = $1 AND slot = $2
       )
       SELECT pg_notify($7, $8) FROM eventfold_projections WHERE name = $1 AND active_version = $5 AND active_generation = $6`,
      [layout.projection, layout.id, to, events.length, layout.version, layout.generation, CHANGE_CHANNEL, changePayload(layout, to, keys)],
    );
    return { keys };
  }
}
