import { randomUUID } from 'node:crypto';
import type { ChainBreak, EventData, EventStore, StreamLifecycleHost } from '../../src/event-store';

export type Dialect = 'sqlite' | 'postgres';

const event = (type: string, data: EventData['data'], metadata?: EventData['metadata']): EventData => ({
  id: randomUUID(),
  type,
  data,
  ...(metadata ? { metadata } : {}),
});

/** The history every tampering scenario starts from: five appends, four streams, in this `$all` order, then two lifecycle actions. */
export async function writeHistory(store: EventStore): Promise<void> {
  await store.appendToStream('order-1', [event('OrderPlaced', { total: 12.5 }, { userId: 'alice', correlationId: 'c-1' })]);
  await store.appendToStream('order-1', [event('OrderPaid', { by: 'card' }), event('OrderShipped', { carrier: 'dhl' })], { expectedRevision: 0n });
  await store.appendToStream('cart-1', [event('ItemAdded', { sku: 'a' }), event('ItemAdded', { sku: 'b' })]);
  await store.appendToStream('order-2', [event('OrderPlaced', { total: 3 })]);
  await store.appendToStream('order-3', [event('OrderPlaced', { total: 7 }), event('OrderPaid', { by: 'cash' })]);
  const lifecycle = store as EventStore & StreamLifecycleHost;
  await lifecycle.setStreamMetadata('cart-1', { maxCount: 10 });
  await lifecycle.deleteStream('order-2');
}

export interface TamperScenario {
  readonly name: string;
  /** Statements run directly on the database, one at a time, outside the kit. */
  readonly sql: Readonly<Record<Dialect, readonly string[]>>;
  /** The break that must be among those `verify` reports. */
  readonly expected: (found: ChainBreak) => boolean;
}

const both = (...statements: string[]): Record<Dialect, readonly string[]> => ({ sqlite: statements, postgres: statements });
const at = (streamName: string, ...revisions: bigint[]) => (found: ChainBreak) =>
  found.streamName === streamName && found.revision !== undefined && revisions.includes(found.revision);

/** Every way of changing history outside the kit that the issue names, each with the break `verify` must name. */
export const TAMPER_SCENARIOS: readonly TamperScenario[] = [
  {
    name: 'edited data',
    sql: both(`UPDATE eventfold_events SET data = '{"total":999}' WHERE stream_name = 'order-1' AND revision = 0`),
    expected: (found) => found.kind === 'event-altered' && at('order-1', 0n)(found),
  },
  {
    name: 'edited metadata',
    sql: both(`UPDATE eventfold_events SET metadata = '{"userId":"mallory","correlationId":"c-1"}' WHERE stream_name = 'order-1' AND revision = 0`),
    expected: (found) => found.kind === 'event-altered' && at('order-1', 0n)(found),
  },
  {
    name: 'edited type',
    sql: both(`UPDATE eventfold_events SET type = 'OrderRefunded' WHERE stream_name = 'order-1' AND revision = 2`),
    expected: (found) => found.kind === 'event-altered' && at('order-1', 2n)(found),
  },
  {
    name: 'deleted row',
    sql: both(`DELETE FROM eventfold_events WHERE stream_name = 'order-1' AND revision = 1`),
    expected: (found) => found.kind === 'event-missing' && at('order-1', 1n)(found),
  },
  {
    name: 'swapped rows (two revisions of a stream)',
    sql: both(
      `UPDATE eventfold_events SET revision = 100 WHERE stream_name = 'order-1' AND revision = 1`,
      `UPDATE eventfold_events SET revision = 1 WHERE stream_name = 'order-1' AND revision = 2`,
      `UPDATE eventfold_events SET revision = 2 WHERE stream_name = 'order-1' AND revision = 100`,
    ),
    expected: at('order-1', 1n, 2n),
  },
  {
    name: 'swapped rows (the contents of two events)',
    sql: both(
      `UPDATE eventfold_events SET data = CASE stream_name WHEN 'order-2' THEN '{"total":7}' ELSE '{"total":3}' END
       WHERE stream_name IN ('order-2', 'order-3') AND revision = 0`,
    ),
    expected: (found) => found.kind === 'event-altered' && at('order-2', 0n)(found),
  },
  {
    name: 'deleted stream',
    sql: both(`DELETE FROM eventfold_events WHERE stream_name = 'cart-1'`, `DELETE FROM eventfold_streams WHERE stream_name = 'cart-1'`),
    expected: (found) => found.kind === 'batch-altered' && found.message.includes('right after stream "order-1" revision 2'),
  },
  {
    name: 'truncated log',
    sql: {
      sqlite: [`DELETE FROM eventfold_events WHERE position > (SELECT max(position) - 2 FROM eventfold_events)`],
      postgres: [
        `DELETE FROM eventfold_events WHERE (transaction_id, sequence) IN
           (SELECT transaction_id, sequence FROM eventfold_events ORDER BY transaction_id DESC, sequence DESC LIMIT 2)`,
      ],
    },
    expected: (found) => found.kind === 'event-missing' && at('order-3', 0n)(found),
  },
  {
    name: 'row written around the kit',
    sql: {
      sqlite: [
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata, recorded_at)
         VALUES ('${randomUUID()}', 'order-2', 1, 'OrderCancelled', '{}', '{}', 0)`,
      ],
      postgres: [
        // Triggers off, as a raw restore or a replica would have them.
        `SET session_replication_role = replica`,
        `INSERT INTO eventfold_events (event_id, stream_name, revision, type, data, metadata) VALUES ('${randomUUID()}', 'order-2', 1, 'OrderCancelled', '{}', '{}')`,
        `SET session_replication_role = DEFAULT`,
      ],
    },
    expected: (found) => (found.kind === 'event-unhashed' || found.kind === 'event-unchained') && at('order-2', 1n)(found),
  },
  {
    name: 'edited batch hash',
    sql: {
      sqlite: [`UPDATE eventfold_chain SET hash = zeroblob(32) WHERE batch = 2`],
      postgres: [`UPDATE eventfold_chain SET hash = decode(repeat('00', 32), 'hex') WHERE batch = 2`],
    },
    expected: (found) => found.kind === 'batch-altered' && found.batch === 2n && at('order-1', 1n)(found),
  },
  {
    name: 'soft delete undone by editing its lifecycle record',
    sql: both(`UPDATE eventfold_lifecycle SET metadata = '{}' WHERE action = 'delete'`),
    expected: (found) => found.kind === 'lifecycle-altered' && found.streamName === 'order-2',
  },
  {
    name: 'lifecycle record deleted',
    sql: both(`DELETE FROM eventfold_lifecycle WHERE action = 'metadata'`),
    expected: (found) => found.kind === 'lifecycle-altered' && found.message.includes('lifecycle record 1 is missing'),
  },
];
