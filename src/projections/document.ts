import { InvalidDocumentError, InvalidQueryError } from './errors';

/** How an indexed document field is stored and compared. */
export type IndexType = 'text' | 'number' | 'boolean';

/** A value an indexed field may hold; a missing field is indexed as `null`. */
export type IndexValue = string | number | boolean | null;

/**
 * Equality filters on indexed fields: a value, `null` (field missing), or a list meaning "any of".
 * `key` filters on the document key.
 */
export type Where<TDoc> = {
  readonly [K in keyof TDoc & string]?: TDoc[K] | null | readonly TDoc[K][];
} & { readonly key?: string | readonly string[] };

/**
 * A query over one collection. Only indexed fields (and `key`) may be filtered or sorted on, so every
 * query is served by an index.
 *
 * @example
 * const paid = await orders.find({ where: { status: 'paid' }, orderBy: 'total', direction: 'desc', limit: 20 });
 */
export interface DocumentQuery<TDoc> {
  readonly where?: Where<TDoc>;
  /** Default `key`. Ties are broken by key, so pages are stable. */
  readonly orderBy?: (keyof TDoc & string) | 'key';
  readonly direction?: 'asc' | 'desc';
  /** At most this many documents; default 1,000, at most 10,000. */
  readonly limit?: number;
  readonly offset?: number;
}

/**
 * Reads one collection of a projection's read model. Reads always go to the active version, so they
 * switch atomically when a rebuild finishes.
 *
 * @example
 * const orders = readModels.documents(orderSummary, 'orders');
 * const order = await orders.get('o-1');
 */
export interface DocumentReader<TDoc> {
  get(key: string): Promise<TDoc | undefined>;
  find(query?: DocumentQuery<TDoc>): Promise<TDoc[]>;
  count(where?: Where<TDoc>): Promise<number>;
}

/**
 * Writes one collection inside a projection's batch transaction. Writes are buffered and land with the
 * checkpoint when the batch commits; reads inside the batch see the batch's own writes.
 *
 * @example
 * async handle(events, tx) {
 *   const orders = tx.documents('orders');
 *   for (const event of events) {
 *     if (event.type === 'OrderPlaced') orders.put(orderId(event), { status: 'placed', total: 0 });
 *     if (event.type === 'OrderPaid') await orders.patch(orderId(event), { status: 'paid' });
 *   }
 * }
 */
export interface DocumentWriter<TDoc> {
  get(key: string): Promise<TDoc | undefined>;
  /**
   * Loads many documents in one query, so that the `get`s that follow are answered from memory.
   * The engine does it by itself for the keys a projection's `documentKeys` names.
   */
  prefetch(keys: Iterable<string>): Promise<void>;
  /** Creates or replaces the document. */
  put(key: string, doc: TDoc): void;
  /**
   * Shallow-merges `changes` into the existing document.
   * @throws DocumentNotFoundError when there is no document under `key`.
   */
  patch(key: string, changes: Partial<TDoc>): Promise<TDoc>;
  /** Reads, changes and writes back; returning `undefined` deletes the document. */
  update(key: string, change: (doc: TDoc | undefined) => TDoc | undefined): Promise<TDoc | undefined>;
  delete(key: string): void;
  /** Queries committed documents merged with this batch's writes. */
  find(query?: DocumentQuery<TDoc>): Promise<TDoc[]>;
}

/** A query before it is checked: what callers pass, whatever their document type. */
export interface LooseQuery {
  readonly where?: Readonly<Record<string, unknown>>;
  readonly orderBy?: string;
  readonly direction?: string;
  readonly limit?: number;
  readonly offset?: number;
}

/** A query checked against the collection's indexes, in the form the stores execute. */
export interface QueryPlan {
  readonly filters: readonly { readonly field: string; readonly values: readonly IndexValue[] }[];
  readonly orderBy: string;
  readonly direction: 'asc' | 'desc';
  readonly limit: number;
  readonly offset: number;
}

export const DEFAULT_QUERY_LIMIT = 1_000;
export const MAX_QUERY_LIMIT = 10_000;
/** Largest `IN` list, so that a query stays within every backend's parameter limit. */
const MAX_VALUES = 500;

/**
 * Checks a query against the collection's indexes. Field names become identifiers only after they are
 * found among the declared indexes, so nothing from the query itself reaches SQL text.
 */
export function planQuery(
  collection: string,
  indexes: Readonly<Record<string, IndexType>>,
  query: LooseQuery = {},
): QueryPlan {
  const filters: { field: string; values: IndexValue[] }[] = [];
  for (const [field, raw] of Object.entries(query.where ?? {})) {
    if (raw === undefined) continue;
    const type = field === 'key' ? 'text' : indexes[field];
    if (!type) {
      throw new InvalidQueryError(`collection "${collection}" has no index on "${field}"; declare it in the collection's indexes`);
    }
    const values = (Array.isArray(raw) ? raw : [raw]) as unknown[];
    if (values.length === 0 || values.length > MAX_VALUES) {
      throw new InvalidQueryError(`the filter on "${field}" must list between 1 and ${MAX_VALUES} values`);
    }
    filters.push({ field, values: values.map((value) => checkIndexValue(field, type, value, InvalidQueryError)) });
  }
  const orderBy = query.orderBy ?? 'key';
  if (orderBy !== 'key' && !indexes[orderBy]) {
    throw new InvalidQueryError(`collection "${collection}" cannot be ordered by "${orderBy}": it is not indexed`);
  }
  const direction = query.direction ?? 'asc';
  if (direction !== 'asc' && direction !== 'desc') throw new InvalidQueryError(`direction must be asc or desc`);
  const limit = query.limit ?? DEFAULT_QUERY_LIMIT;
  const offset = query.offset ?? 0;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_QUERY_LIMIT) {
    throw new InvalidQueryError(`limit must be an integer from 0 to ${MAX_QUERY_LIMIT}`);
  }
  if (!Number.isInteger(offset) || offset < 0) throw new InvalidQueryError('offset must be a non-negative integer');
  return { filters, orderBy, direction, limit, offset };
}

/**
 * The values of a document's indexed fields, in the order of `indexes`.
 * @throws InvalidDocumentError when the document is not a plain object or an indexed field has the wrong type.
 */
export function indexValues(collection: string, indexes: Readonly<Record<string, IndexType>>, doc: unknown): IndexValue[] {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new InvalidDocumentError(`a document in "${collection}" must be a JSON object, got ${describe(doc)}`);
  }
  const record = doc as Record<string, unknown>;
  const values: IndexValue[] = [];
  for (const field in indexes) {
    values.push(checkIndexValue(field, indexes[field]!, record[field], InvalidDocumentError, collection));
  }
  return values;
}

function checkIndexValue(
  field: string,
  type: IndexType,
  value: unknown,
  ErrorClass: typeof InvalidDocumentError | typeof InvalidQueryError,
  collection?: string,
): IndexValue {
  if (value === undefined || value === null) return null;
  const ok =
    (type === 'text' && typeof value === 'string') ||
    (type === 'number' && typeof value === 'number' && Number.isFinite(value)) ||
    (type === 'boolean' && typeof value === 'boolean');
  if (!ok) {
    const where = collection ? ` in "${collection}"` : '';
    throw new ErrorClass(`indexed field "${field}"${where} must be ${type === 'number' ? 'a finite number' : `a ${type}`}, got ${describe(value)}`);
  }
  return value;
}

/** Serialises a document, refusing what JSON would silently change (functions, NaN, cycles, bigint). */
export function serialiseDocument(collection: string, key: string, doc: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(doc);
  } catch (error) {
    throw new InvalidDocumentError(`document "${key}" in "${collection}" cannot be serialised: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (text === undefined || text[0] !== '{') {
    throw new InvalidDocumentError(`document "${key}" in "${collection}" must be a JSON object, got ${describe(doc)}`);
  }
  return text;
}

/** Orders documents the way the stores do: by the field (nulls first), then by key. */
export function compareForPlan(
  plan: QueryPlan,
  a: { key: string; values: Record<string, unknown> },
  b: { key: string; values: Record<string, unknown> },
): number {
  const sign = plan.direction === 'asc' ? 1 : -1;
  if (plan.orderBy !== 'key') {
    const order = compareIndexValues(toIndexValue(a.values[plan.orderBy]), toIndexValue(b.values[plan.orderBy]));
    if (order !== 0) return order * sign;
  }
  return (a.key < b.key ? -1 : a.key > b.key ? 1 : 0) * sign;
}

/** Whether a document matches every filter of the plan. */
export function matchesPlan(plan: QueryPlan, key: string, doc: Record<string, unknown>): boolean {
  return plan.filters.every(({ field, values }) => {
    const value = field === 'key' ? key : toIndexValue(doc[field]);
    return values.some((candidate) => candidate === value);
  });
}

function toIndexValue(value: unknown): IndexValue {
  return value === undefined ? null : (value as IndexValue);
}

function compareIndexValues(a: IndexValue, b: IndexValue): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
