import type { Position } from '../event-store/position';
import { BatchTransaction } from './batch-transaction';
import {
  compareForPlan,
  matchesPlan,
  planQuery,
  type DocumentQuery,
  type DocumentReader,
  type IndexValue,
  type QueryPlan,
  type Where,
} from './document';
import type { DocumentTable, DocumentUpsert } from './document-batch';
import { CheckpointConflictError, InvalidProjectionError, ReadModelUnavailableError, toError } from './errors';
import type { CollectionMap, DocumentOf, ProjectionTransaction } from './projection';
import {
  collectionIndexes,
  type BatchCommit,
  type BatchRequest,
  type ProjectionFailure,
  type ProjectionRecord,
  type ReadModelStore,
  type SlotLayout,
  type SlotRecord,
} from './read-model-store';

interface StoredDocument {
  readonly json: string;
  readonly values: Record<string, IndexValue>;
}

type Table = Map<string, StoredDocument>;

interface Slot {
  version: number;
  generation: number;
  position: Position | undefined;
  eventsHandled: number;
  failure: ProjectionFailure | undefined;
  readonly tables: Map<string, Table>;
}

interface Projection {
  active: { version: number; generation: number } | undefined;
  readonly slots: Map<string, Slot>;
}

/**
 * Read models in process memory, for unit tests and examples: the same behaviour as the SQL stores
 * (atomic batches, checkpoints, switch-over) with documents only, and nothing kept after the process.
 * Documents are stored as JSON text so that callers can never change stored state through an object
 * they were given.
 *
 * @example
 * const readModels = new InMemoryReadModelStore();
 * const engine = new ProjectionEngine({ eventStore, readModels, projections: [orderSummary] });
 */
export class InMemoryReadModelStore implements ReadModelStore {
  readonly dialect = 'memory' as const;
  private readonly projections = new Map<string, Projection>();
  /** Collection name → the physical table readers see. */
  private readonly views = new Map<string, { projection: string; table: string }>();
  private closed = false;

  load(projection: string): Promise<ProjectionRecord> {
    const stored = this.projections.get(projection);
    const slots: SlotRecord[] = [...(stored?.slots.values() ?? [])].map((slot) => ({
      version: slot.version,
      generation: slot.generation,
      position: slot.position,
      eventsHandled: slot.eventsHandled,
      failure: slot.failure,
    }));
    return Promise.resolve({ active: stored?.active, slots });
  }

  createSlot(layout: SlotLayout): Promise<void> {
    return this.run(() => {
      if (layout.tables.length > 0) {
        throw new InvalidProjectionError(
          `projection "${layout.projection}" declares SQL tables, which the in-memory read-model store cannot hold`,
        );
      }
      const projection = this.projectionOf(layout.projection);
      if (projection.slots.has(layout.id)) return;
      projection.slots.set(layout.id, {
        version: layout.version,
        generation: layout.generation,
        position: undefined,
        eventsHandled: 0,
        failure: undefined,
        tables: new Map(layout.collections.map((collection) => [collection.table, new Map<string, StoredDocument>()])),
      });
    });
  }

  /** Nothing to build: queries scan. */
  indexSlot(): Promise<void> {
    return this.run(() => undefined);
  }

  activate(layout: SlotLayout): Promise<void> {
    return this.run(() => {
      const projection = this.projectionOf(layout.projection);
      if (!projection.slots.has(layout.id)) throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" does not exist`);
      for (const collection of layout.collections) {
        const owner = this.views.get(collection.name);
        if (owner && owner.projection !== layout.projection) {
          throw new InvalidProjectionError(
            `collection "${collection.name}" already belongs to projection "${owner.projection}"`,
          );
        }
      }
      projection.active = { version: layout.version, generation: layout.generation };
      for (const collection of layout.collections) {
        this.views.set(collection.name, { projection: layout.projection, table: collection.table });
      }
    });
  }

  dropSlot(layout: SlotLayout): Promise<void> {
    return this.run(() => {
      this.projections.get(layout.projection)?.slots.delete(layout.id);
    });
  }

  async commitBatch(
    layout: SlotLayout,
    request: BatchRequest,
    work: (tx: ProjectionTransaction) => Promise<void>,
  ): Promise<BatchCommit> {
    const slot = this.slotOf(layout);
    checkCheckpoint(layout, slot, request);
    const staged: { table: Table; upserts: readonly DocumentUpsert[]; deletes: readonly string[]; indexes: string[] }[] = [];
    const tx = new BatchTransaction(layout, {
      dialect: 'memory',
      documentTable: (table, indexes): DocumentTable => ({
        load: (key) => Promise.resolve(parse(this.tableOf(slot, table).get(key))),
        loadMany: (keys) => {
          const rows = this.tableOf(slot, table);
          const found = new Map<string, object>();
          for (const key of keys) {
            const doc = parse(rows.get(key));
            if (doc) found.set(key, doc);
          }
          return Promise.resolve(found);
        },
        find: (plan) => Promise.resolve(findIn(this.tableOf(slot, table), plan)),
        write: (upserts, deletes) => {
          staged.push({ table: this.tableOf(slot, table), upserts, deletes, indexes: Object.keys(indexes) });
          return Promise.resolve();
        },
      }),
    });
    await work(tx);
    const keys = await tx.flush();
    this.assertOpen();
    // Everything from here on is synchronous, so the batch lands whole or not at all.
    checkCheckpoint(layout, slot, request);
    for (const { table, upserts, deletes, indexes } of staged) {
      for (const key of deletes) table.delete(key);
      for (const { key, json, values } of upserts) {
        table.set(key, { json, values: Object.fromEntries(indexes.map((field, index) => [field, values[index] ?? null])) });
      }
    }
    slot.position = request.to;
    slot.eventsHandled += request.eventCount;
    slot.failure = undefined;
    return { keys };
  }

  recordFailure(layout: SlotLayout, failure: ProjectionFailure | undefined): Promise<void> {
    return this.run(() => {
      this.slotOf(layout).failure = failure;
    });
  }

  documents<C extends CollectionMap, K extends keyof C & string>(
    projection: { readonly name: string; readonly collections: C },
    collection: K,
  ): DocumentReader<DocumentOf<C[K]>> {
    const indexes = collectionIndexes(projection, collection);
    const table = (): Table => {
      this.assertOpen();
      const view = this.views.get(collection);
      const slot = view && this.projections.get(view.projection)?.slots;
      for (const candidate of slot?.values() ?? []) {
        const found = candidate.tables.get(view!.table);
        if (found) return found;
      }
      throw new ReadModelUnavailableError(`collection "${collection}" of "${projection.name}" has no active version yet`);
    };
    type TDoc = DocumentOf<C[K]>;
    return {
      get: (key) => attempt(() => parse(table().get(key)) as TDoc | undefined),
      find: (query?: DocumentQuery<TDoc>) =>
        attempt(() => findIn(table(), planQuery(collection, indexes, query)).map((row) => row.doc as TDoc)),
      count: (where?: Where<TDoc>) =>
        attempt(() => {
          const plan = planQuery(collection, indexes, { where });
          let count = 0;
          for (const [key, stored] of table()) if (matchesPlan(plan, key, stored.values)) count++;
          return count;
        }),
    };
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private projectionOf(name: string): Projection {
    let projection = this.projections.get(name);
    if (!projection) {
      projection = { active: undefined, slots: new Map() };
      this.projections.set(name, projection);
    }
    return projection;
  }

  private slotOf(layout: SlotLayout): Slot {
    this.assertOpen();
    const slot = this.projections.get(layout.projection)?.slots.get(layout.id);
    if (!slot) throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" does not exist`);
    return slot;
  }

  private tableOf(slot: Slot, table: string): Table {
    this.assertOpen();
    const found = slot.tables.get(table);
    if (!found) throw new InvalidProjectionError(`table ${table} does not exist`);
    return found;
  }

  private run(action: () => void): Promise<void> {
    return attempt(() => {
      this.assertOpen();
      action();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new ReadModelUnavailableError('the in-memory read-model store is closed');
  }
}

/** Runs synchronous work as a promise, so that callers see failures as rejections, never as throws. */
function attempt<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (error) {
    return Promise.reject(toError(error));
  }
}

function checkCheckpoint(layout: SlotLayout, slot: Slot, request: BatchRequest): void {
  const current = slot.position;
  const same = current === undefined ? request.from === undefined : request.from !== undefined && current.equals(request.from);
  if (!same) {
    throw new CheckpointConflictError(
      `the checkpoint of "${layout.projection}" (${layout.id}) moved to ${current?.toString() ?? 'start'}; expected ${request.from?.toString() ?? 'start'}`,
    );
  }
}

function parse(stored: StoredDocument | undefined): object | undefined {
  return stored === undefined ? undefined : (JSON.parse(stored.json) as object);
}

function findIn(table: Table, plan: QueryPlan): { key: string; doc: object }[] {
  const rows: { key: string; values: Record<string, IndexValue>; json: string }[] = [];
  for (const [key, stored] of table) {
    if (matchesPlan(plan, key, stored.values)) rows.push({ key, values: stored.values, json: stored.json });
  }
  return rows
    .sort((a, b) => compareForPlan(plan, a, b))
    .slice(plan.offset, plan.offset + plan.limit)
    .map((row) => ({ key: row.key, doc: JSON.parse(row.json) as object }));
}
