import { upcastKnown, type UpcastEvent } from '../commands/upcast-recorded';
import type { EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import type { RecordedEvent } from '../event-store/event-store';
import type { DocumentWriter, IndexType } from './document';
import { InvalidProjectionError } from './errors';
import { validateFieldName, validateIdentifier } from './identifier';

/** Which database a read model lives in. */
export type ReadModelDialect = 'memory' | 'sqlite' | 'postgres';
export type SqlDialect = Exclude<ReadModelDialect, 'memory'>;

/**
 * A collection of JSON documents by key, with indexed top-level fields for queries. `TDoc` is the
 * document type; it only exists for the compiler.
 *
 * @example
 * interface OrderSummary { status: string; total: number; customerId: string }
 * const orders = defineCollection<OrderSummary>({ indexes: { status: 'text', customerId: 'text' } });
 */
export interface CollectionDefinition<TDoc extends object = object> {
  readonly indexes: Readonly<Record<string, IndexType>>;
  /** Type-level only: never set. */
  readonly documentType?: TDoc;
}

/** The collections of a projection, by name. */
export type CollectionMap = { readonly [name: string]: CollectionDefinition };

/** The document type of a collection definition. */
export type DocumentOf<C> = C extends CollectionDefinition<infer TDoc> ? TDoc : never;

/**
 * A hand-written SQL table of a projection (the escape hatch when documents do not fit). `create` gets
 * the quoted physical name of this version's table and returns the statements that create it.
 *
 * @example
 * const totals: TableDefinition = {
 *   create: (table) => [`CREATE TABLE ${table} (customer_id TEXT PRIMARY KEY, total NUMERIC NOT NULL)`],
 * };
 */
export interface TableDefinition {
  create(table: string, dialect: SqlDialect): readonly string[];
}

/** An event as a projection sees it: its `type` narrowed to the types the projection declared. */
export type ProjectionEvent<TType extends string = string> = RecordedEvent & { readonly type: TType };

/**
 * An event as a projection with an `events` catalog sees it: types the catalog knows come upcast to its
 * current schema with typed `data`; other listed types as recorded.
 */
export type CatalogProjectionEvent<TType extends string, Event extends Message> = [Event] extends [never]
  ? ProjectionEvent<TType>
  : TType extends Event['type']
    ? UpcastEvent<Extract<Event, { readonly type: TType }>>
    : ProjectionEvent<TType>;

/** A value bound to a SQL parameter. */
export type SqlParameter = string | number | bigint | boolean | null | Buffer;

/**
 * What a handler gets for one batch: the read-model store, inside the transaction that will also
 * store the checkpoint. Nothing is visible to readers until the whole batch commits.
 *
 * @example
 * async handle(events, tx) {
 *   const orders = tx.documents('orders');
 *   for (const event of events) orders.put(event.streamName, { status: 'placed' });
 * }
 */
export interface ProjectionTransaction<C extends CollectionMap = CollectionMap> {
  readonly dialect: ReadModelDialect;
  /** The document helper for one of the projection's collections. */
  documents<K extends keyof C & string>(collection: K): DocumentWriter<DocumentOf<C[K]>>;
  /** The quoted physical name of one of the projection's declared tables, for hand-written SQL. */
  table(name: string): string;
  /**
   * Runs a statement in the batch's transaction (SQL stores only), in the store's own dialect:
   * `?` placeholders for SQLite, `$1` for PostgreSQL. Values go in `parameters`, never into `sql`.
   * Resolves to the number of rows changed.
   */
  execute(sql: string, parameters?: readonly SqlParameter[]): Promise<number>;
  /** Runs a query in the batch's transaction (SQL stores only). */
  query<Row extends object>(sql: string, parameters?: readonly SqlParameter[]): Promise<Row[]>;
  /** Adds a key to this batch's change-feed announcement, for writes made with hand-written SQL. */
  changed(key: string): void;
}

/**
 * A projection: turns events into a read model. The handler gets a batch of events (in `$all` order)
 * and a transaction; the batch's writes and the projection's checkpoint commit together.
 *
 * @example
 * export const orderSummary = defineProjection({ name: 'order-summary', version: 1, eventTypes: ['OrderPlaced'],
 *   collections: { orders }, handle(events, tx) { ... } });
 */
export interface ProjectionDefinition<TType extends string = string, C extends CollectionMap = CollectionMap> {
  /** Stable name: lowercase letters, digits, `-` and `_`. */
  readonly name: string;
  /** Bump it when the handler's output changes: the engine rebuilds the read model without downtime. */
  readonly version: number;
  readonly eventTypes: readonly TType[];
  readonly collections: C;
  readonly tables: Readonly<Record<string, TableDefinition>>;
  /** Events per batch; overrides the engine's `batchSize`. */
  readonly batchSize?: number;
  /** Which documents each event reads, per collection: loaded for the whole batch before `handle`. */
  readonly documentKeys?: DocumentKeys<TType, C>;
  handle(events: readonly ProjectionEvent<TType>[], tx: ProjectionTransaction<C>): void | Promise<void>;
}

/**
 * Per collection, the keys of the documents an event will read. Optional: with it, the engine loads a
 * batch's documents in one query before the handler runs, instead of one query per `get`: on
 * PostgreSQL that is the difference between one round trip per batch and one per document.
 *
 * @example
 * documentKeys: { orders: (event) => (event.data as { orderId: string }).orderId }
 */
export type DocumentKeys<TType extends string, C extends CollectionMap> = {
  readonly [K in keyof C]?: (event: ProjectionEvent<TType>) => string | readonly string[] | undefined;
};

/**
 * Any projection, as the engine holds them. `documentKeys` is loosened: a key function takes the
 * projection's own events, which the engine only ever passes it.
 */
export type AnyProjection = Omit<ProjectionDefinition<string, CollectionMap>, 'documentKeys'> & {
  readonly documentKeys?: {
    readonly [collection: string]: ((event: never) => string | readonly string[] | undefined) | undefined;
  };
};

/**
 * What `defineProjection` takes: the definition without defaults filled in. With `events` (an
 * aggregate's event catalog), the handler and `documentKeys` get the catalog's events upcast to its
 * current schema, so a projection is written against today's shape whatever version is stored.
 */
export interface ProjectionOptions<TType extends string, C extends CollectionMap, Event extends Message = never> {
  readonly name: string;
  readonly version: number;
  readonly eventTypes: readonly TType[];
  readonly events?: EventCatalog<Event>;
  readonly collections?: C;
  readonly tables?: Readonly<Record<string, TableDefinition>>;
  readonly batchSize?: number;
  readonly documentKeys?: {
    readonly [K in keyof C]?: (event: CatalogProjectionEvent<TType, Event>) => string | readonly string[] | undefined;
  };
  handle(events: readonly CatalogProjectionEvent<TType, Event>[], tx: ProjectionTransaction<C>): void | Promise<void>;
}

const PROJECTION_NAME = /^[a-z][a-z0-9_-]*$/;
const MAX_NAME_LENGTH = 100;
/**
 * Collection and table names get a version suffix (`__v12g3`) in the database; this leaves room for it
 * within PostgreSQL's 63-byte identifiers.
 */
export const MAX_COLLECTION_NAME_LENGTH = 40;
const RESERVED_COLUMNS = new Set(['key', 'doc']);
const INDEX_TYPES = new Set<IndexType>(['text', 'number', 'boolean']);

/**
 * Declares a collection of JSON documents with its indexed fields.
 *
 * @example
 * const orders = defineCollection<OrderSummary>({ indexes: { status: 'text', total: 'number' } });
 */
export function defineCollection<TDoc extends object>(
  options: { readonly indexes?: { readonly [K in keyof TDoc & string]?: IndexType } } = {},
): CollectionDefinition<TDoc> {
  return { indexes: { ...(options.indexes as Record<string, IndexType> | undefined) } };
}

/**
 * Declares and checks a projection. The event types are kept as literal types, so a `switch` on
 * `event.type` in the handler can be made exhaustive.
 *
 * @example
 * const orderSummary = defineProjection({
 *   name: 'order-summary',
 *   version: 1,
 *   eventTypes: ['OrderPlaced', 'OrderPaid'],
 *   collections: { orders: defineCollection<OrderSummary>({ indexes: { status: 'text' } }) },
 *   async handle(events, tx) {
 *     const orders = tx.documents('orders');
 *     for (const event of events) {
 *       switch (event.type) {
 *         case 'OrderPlaced': orders.put(event.streamName, { status: 'placed', total: 0 }); break;
 *         case 'OrderPaid': await orders.patch(event.streamName, { status: 'paid' }); break;
 *         default: { const _never: never = event.type; }
 *       }
 *     }
 *   },
 * });
 * With `events: cartEvents` (an aggregate's catalog) the handler gets that catalog's events upcast to
 * its current schema, `data` typed per event type (then end the `switch` with `const _never: never = event`).
 * @throws InvalidProjectionError or InvalidIdentifierError when the definition is malformed.
 */
export function defineProjection<const TType extends string, C extends CollectionMap = Record<never, never>, Event extends Message = never>(
  options: ProjectionOptions<TType, C, Event>,
): ProjectionDefinition<TType, C> {
  const current = currentSchema<TType, Event>(options.name, options.events);
  const definition: ProjectionDefinition<TType, C> = {
    name: options.name,
    version: options.version,
    eventTypes: options.eventTypes,
    collections: options.collections ?? ({} as C),
    tables: options.tables ?? {},
    batchSize: options.batchSize,
    documentKeys: options.documentKeys && upcastKeys(options.documentKeys, current),
    handle: (events, tx) => options.handle(events.map(current), tx),
  };
  validateProjection(definition);
  return definition;
}

/**
 * How a projection's events reach its code: upcast by its catalog (each recorded event once, though
 * `documentKeys` and `handle` both see it), or as recorded when it has none. A stored event that does
 * not fit its definition throws InvalidStoredEventError, which stops the projection: never skipped.
 */
function currentSchema<TType extends string, Event extends Message>(
  name: string,
  catalog: EventCatalog<Event> | undefined,
): (event: ProjectionEvent<TType>) => CatalogProjectionEvent<TType, Event> {
  if (catalog === undefined) return (event) => event as unknown as CatalogProjectionEvent<TType, Event>;
  if (typeof catalog !== 'object' || catalog === null || typeof catalog.decode !== 'function' || typeof catalog.has !== 'function') {
    throw new InvalidProjectionError(`projection "${name}": events must be an event catalog (defineEvents)`);
  }
  const upcast = new WeakMap<RecordedEvent, RecordedEvent>();
  return (event) => {
    let known = upcast.get(event);
    if (!known) upcast.set(event, (known = upcastKnown(catalog, event)));
    return known as unknown as CatalogProjectionEvent<TType, Event>;
  };
}

function upcastKeys<TType extends string, C extends CollectionMap, Event extends Message>(
  keys: NonNullable<ProjectionOptions<TType, C, Event>['documentKeys']>,
  current: (event: ProjectionEvent<TType>) => CatalogProjectionEvent<TType, Event>,
): DocumentKeys<TType, C> {
  const wrapped: Record<string, unknown> = {};
  for (const [collection, keysOf] of Object.entries(keys)) {
    // A non-function is left as given, for validateProjection to refuse with its own message.
    wrapped[collection] =
      typeof keysOf === 'function'
        ? (event: ProjectionEvent<TType>) => keysOf(current(event))
        : keysOf;
  }
  return wrapped as DocumentKeys<TType, C>;
}

/** Checks a definition made by hand (without `defineProjection`). */
export function validateProjection(definition: AnyProjection): void {
  const { name, version, eventTypes, collections, tables, batchSize } = definition;
  if (typeof name !== 'string' || !PROJECTION_NAME.test(name) || name.length > MAX_NAME_LENGTH) {
    throw new InvalidProjectionError(
      `projection name ${JSON.stringify(name)} must be lowercase letters, digits, "-" and "_", starting with a letter, at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  if (!Number.isSafeInteger(version) || version < 1 || version > 999_999) {
    throw new InvalidProjectionError(`projection "${name}": version must be an integer from 1 to 999999, got ${String(version)}`);
  }
  if (!Array.isArray(eventTypes) || eventTypes.length === 0) {
    throw new InvalidProjectionError(`projection "${name}": eventTypes must list at least one event type`);
  }
  const seen = new Set<string>();
  for (const type of eventTypes) {
    if (typeof type !== 'string' || type.length === 0) {
      throw new InvalidProjectionError(`projection "${name}": event types must be non-empty strings`);
    }
    if (seen.has(type)) throw new InvalidProjectionError(`projection "${name}": event type "${type}" is listed twice`);
    seen.add(type);
  }
  if (typeof definition.handle !== 'function') {
    throw new InvalidProjectionError(`projection "${name}": handle must be a function`);
  }
  if (batchSize !== undefined && (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > 100_000)) {
    throw new InvalidProjectionError(`projection "${name}": batchSize must be an integer from 1 to 100000`);
  }
  const names = new Set<string>();
  const claim = (what: string, tableName: string): void => {
    validateIdentifier(tableName, what);
    if (tableName.length > MAX_COLLECTION_NAME_LENGTH) {
      throw new InvalidProjectionError(`projection "${name}": ${what} name "${tableName}" is longer than ${MAX_COLLECTION_NAME_LENGTH} characters`);
    }
    if (tableName.includes('__')) {
      throw new InvalidProjectionError(`projection "${name}": ${what} name "${tableName}" may not contain "__" (used for version suffixes)`);
    }
    if (names.has(tableName)) throw new InvalidProjectionError(`projection "${name}": the name "${tableName}" is used twice`);
    names.add(tableName);
  };
  for (const [collection, spec] of Object.entries(collections)) {
    claim('collection', collection);
    const columns = new Set<string>();
    for (const [field, type] of Object.entries(spec.indexes)) {
      validateFieldName(field, `index field of "${collection}"`);
      // SQLite compares column names without case, so `status` and `Status` would collide there.
      const column = field.toLowerCase();
      if (columns.has(column)) {
        throw new InvalidProjectionError(`projection "${name}": indexed fields of "${collection}" differ only in case: "${field}"`);
      }
      columns.add(column);
      if (RESERVED_COLUMNS.has(column)) {
        throw new InvalidProjectionError(`projection "${name}": "${field}" cannot be an indexed field of "${collection}"; it is a reserved column`);
      }
      if (!INDEX_TYPES.has(type)) {
        throw new InvalidProjectionError(`projection "${name}": index "${collection}.${field}" has unknown type ${JSON.stringify(type)}`);
      }
    }
  }
  for (const [collection, keysOf] of Object.entries(definition.documentKeys ?? {})) {
    if (!Object.prototype.hasOwnProperty.call(collections, collection)) {
      throw new InvalidProjectionError(`projection "${name}": documentKeys names "${collection}", which is not one of its collections`);
    }
    if (typeof keysOf !== 'function') {
      throw new InvalidProjectionError(`projection "${name}": documentKeys.${collection} must be a function`);
    }
  }
  for (const [table, spec] of Object.entries(tables)) {
    claim('table', table);
    if (typeof spec.create !== 'function') {
      throw new InvalidProjectionError(`projection "${name}": table "${table}" needs a create function`);
    }
  }
}
