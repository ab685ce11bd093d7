import type { AppendHookContext } from '../event-store/append-hook';
import type { RecordedEvent } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import type { DocumentReader, IndexType } from './document';
import type { ProjectionChange } from './change-feed';
import { InvalidQueryError } from './errors';
import type { AnyProjection, CollectionDefinition, DocumentOf, ProjectionTransaction, ReadModelDialect, TableDefinition } from './projection';

/**
 * One version of a projection's read model: its own physical tables (`orders__v2g0`) and its own
 * checkpoint. A rebuild writes a new slot while the active one keeps serving; readers see the active
 * slot through views named after the collections, which a switch-over repoints atomically.
 */
export interface SlotLayout {
  readonly projection: string;
  readonly version: number;
  /** 0 for a version's first build, then one more for each requested rebuild. */
  readonly generation: number;
  /** `v2g0`: the suffix of the slot's tables. */
  readonly id: string;
  readonly collections: readonly {
    readonly name: string;
    readonly table: string;
    readonly indexes: Readonly<Record<string, IndexType>>;
  }[];
  readonly tables: readonly { readonly name: string; readonly table: string; readonly definition: TableDefinition }[];
}

/**
 * Where each table of a slot lives.
 *
 * @example
 * slotLayout(orderSummary, 2, 0).collections[0].table; // 'orders__v2g0'
 */
export function slotLayout(definition: AnyProjection, version: number, generation: number): SlotLayout {
  const id = `v${version}g${generation}`;
  return {
    projection: definition.name,
    version,
    generation,
    id,
    collections: Object.entries(definition.collections).map(([name, spec]) => ({
      name,
      table: `${name}__${id}`,
      indexes: spec.indexes,
    })),
    tables: Object.entries(definition.tables).map(([name, spec]) => ({ name, table: `${name}__${id}`, definition: spec })),
  };
}

/** The event a projection stopped on, and why: stored with the checkpoint so every process sees it. */
export interface ProjectionFailure {
  readonly eventId: string;
  readonly eventType: string;
  readonly streamName: string;
  readonly position: string;
  readonly error: { readonly name: string; readonly code?: string; readonly message: string };
  readonly failedAt: string;
}

/** A slot's stored state. */
export interface SlotRecord {
  readonly version: number;
  readonly generation: number;
  /** The last event whose effect is committed; undefined before the first batch. */
  readonly position: Position | undefined;
  /** Events handled into this slot so far. */
  readonly eventsHandled: number;
  readonly failure: ProjectionFailure | undefined;
}

/** A projection's stored state: which slot readers see, and every slot that exists. */
export interface ProjectionRecord {
  readonly active: { readonly version: number; readonly generation: number } | undefined;
  readonly slots: readonly SlotRecord[];
}

/** One batch to commit: the checkpoint it starts from (checked) and the one it ends at. */
export interface BatchRequest {
  readonly from: Position | undefined;
  readonly to: Position;
  readonly eventCount: number;
}

/** The events of one projection in an append transaction, for an inline commit. */
export interface InlineBatch {
  /** The append transaction (its connection is where the batch is written). */
  readonly context: AppendHookContext;
  /** The events of the projection's types in this transaction, in order. */
  readonly events: readonly RecordedEvent[];
  readonly eventTypes: readonly string[];
}

/** How far a slot's checkpoint may trail an append and still be brought up to date inline (in events). */
export const MAX_INLINE_GAP = 1_000n;

/**
 * Whether a slot at `checkpoint` has handled everything before an append transaction, so that the
 * append's events may be applied inline: nothing of its types lies between the checkpoint and the
 * append. On PostgreSQL only when the append is ordered (no older writer still running).
 */
export async function coversBefore(
  checkpoint: Position | undefined,
  context: AppendHookContext,
  eventTypes: readonly string[],
): Promise<boolean> {
  if (!context.ordered) return false;
  const head = context.previousHead;
  if (!head || (checkpoint && !head.isAfter(checkpoint))) return true;
  // Far behind: the runner is catching up, and a scan of the gap on every append would cost more.
  if (head.prepare - (checkpoint?.prepare ?? 0n) > MAX_INLINE_GAP) return false;
  return !(await context.hasEventsBefore(checkpoint, eventTypes));
}

/** What a committed batch changed. */
export interface BatchCommit {
  /** Changed document keys (and keys reported with `tx.changed`), without duplicates. */
  readonly keys: readonly string[];
}

/**
 * A database that holds read models and their checkpoints. The engine drives it; users mostly call
 * `documents` to query.
 *
 * @example
 * const readModels = SqliteReadModelStore.open('./data/read-models.db');
 * const orders = readModels.documents(orderSummary, 'orders');
 */
export interface ReadModelStore {
  readonly dialect: ReadModelDialect;
  /** The projection's stored state (empty when it never ran). */
  load(projection: string): Promise<ProjectionRecord>;
  /** Creates the slot's tables and its checkpoint row when they do not exist yet. */
  createSlot(layout: SlotLayout): Promise<void>;
  /**
   * Creates the indexes of the slot's collections (idempotent). The engine calls it once the slot has
   * caught up, so that a build does not maintain indexes event by event.
   */
  indexSlot(layout: SlotLayout): Promise<void>;
  /**
   * Makes the slot the one readers see, in one transaction: records it active and points the views at
   * its tables.
   */
  activate(layout: SlotLayout): Promise<void>;
  /** Drops the slot's tables and checkpoint. */
  dropSlot(layout: SlotLayout): Promise<void>;
  /**
   * Runs one batch in one transaction: checks that the checkpoint is still `request.from` (else
   * `CheckpointConflictError`), runs `work`, writes the documents, stores `request.to` and commits.
   * Nothing of it is kept when anything fails.
   */
  commitBatch(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit>;
  /**
   * Inline projections (SQL stores whose database holds the events): runs one projection's share of an
   * append inside the append's own transaction, on `batch.context.connection`, when the slot's
   * checkpoint covers everything before the append (no event of its types lies between them). Resolves
   * to `undefined` without writing when it does not: the async runner catches the slot up instead.
   * Throws (and the append rolls back) when `work` or a write fails.
   */
  commitInline?(
    layout: SlotLayout,
    batch: InlineBatch,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit | undefined>;
  /** Whether this store's database is the one `eventStore` appends to (required for inline projections). */
  sharesDatabaseWith?(eventStore: unknown): Promise<boolean>;
  /** Records (or clears, with `undefined`) the event the slot is stopped on. */
  recordFailure(layout: SlotLayout, failure: ProjectionFailure | undefined): Promise<void>;
  /** Reads a collection of the projection's active version. */
  documents<C extends AnyProjection['collections'], K extends keyof C & string>(
    projection: { readonly name: string; readonly collections: C },
    collection: K,
  ): DocumentReader<DocumentOf<C[K]>>;
  /**
   * Announcements of committed batches by any process using this database (polled or notified),
   * including this one's.
   */
  watchChanges?(listener: (change: ProjectionChange) => void): Promise<() => Promise<void>>;
  /**
   * Optional: removes from the database files the bytes of documents already deleted or overwritten
   * (after projections cleaned up on a `SubjectForgotten`). SQLite truncates its WAL; PostgreSQL vacuums.
   */
  scrub?(): Promise<void>;
  close(): Promise<void>;
}

/** The indexes of a collection, or a clear error when the projection has no such collection. */
export function collectionIndexes(
  projection: { readonly name: string; readonly collections: Readonly<Record<string, CollectionDefinition>> },
  collection: string,
): Readonly<Record<string, IndexType>> {
  const spec = Object.prototype.hasOwnProperty.call(projection.collections, collection)
    ? projection.collections[collection]
    : undefined;
  if (!spec) throw new InvalidQueryError(`projection "${projection.name}" has no collection "${collection}"`);
  return spec.indexes;
}
