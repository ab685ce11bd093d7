import {
  compareForPlan,
  indexValues,
  matchesPlan,
  planQuery,
  serialiseDocument,
  type DocumentQuery,
  type DocumentWriter,
  type IndexType,
  type IndexValue,
} from './document';
import { DocumentNotFoundError, InvalidDocumentError } from './errors';

/** A document row to write: its key, JSON text and the values of its indexed fields (in index order). */
export interface DocumentUpsert {
  readonly key: string;
  readonly json: string;
  readonly values: readonly IndexValue[];
}

/** What a store gives a batch for one physical table, inside the batch's open transaction. */
export interface DocumentTable {
  /** A fresh, parsed copy of the stored document (callers may change it). */
  load(key: string): Promise<object | undefined>;
  /** Fresh, parsed copies of the stored documents among `keys`, in one round trip. */
  loadMany(keys: readonly string[]): Promise<Map<string, object>>;
  find(plan: ReturnType<typeof planQuery>): Promise<{ key: string; doc: object }[]>;
  write(upserts: readonly DocumentUpsert[], deletes: readonly string[]): Promise<void>;
}

const MAX_KEY_LENGTH = 1_024;

/**
 * The document helper a handler gets for one collection in one batch. Documents read or written in
 * the batch are kept in memory and written once, at the end of the batch, with the checkpoint: a key
 * changed by many events of a batch costs one write, and a rolled-back batch leaves nothing behind.
 */
export class DocumentBatch<TDoc extends object> implements DocumentWriter<TDoc> {
  /** `null`: known to be absent (never stored, or deleted in this batch). */
  private readonly docs = new Map<string, TDoc | null>();
  private readonly dirty = new Set<string>();

  constructor(
    private readonly collection: string,
    private readonly indexes: Readonly<Record<string, IndexType>>,
    private readonly table: DocumentTable,
  ) {}

  async get(key: string): Promise<TDoc | undefined> {
    this.checkKey(key);
    const known = this.docs.get(key);
    if (known !== undefined) return known ?? undefined;
    const stored = (await this.table.load(key)) as TDoc | undefined;
    // Another read of the same key may have finished first, or a write happened meanwhile: keep it.
    const raced = this.docs.get(key);
    if (raced !== undefined) return raced ?? undefined;
    this.docs.set(key, stored ?? null);
    return stored;
  }

  /**
   * Loads the documents under `keys` that this batch has not seen yet, in one query, so that the
   * handler's `get`s are answered from memory (on PostgreSQL, one round trip instead of one per key).
   */
  async prefetch(keys: Iterable<string>): Promise<void> {
    const missing = new Set<string>();
    for (const key of keys) {
      this.checkKey(key);
      if (!this.docs.has(key)) missing.add(key);
    }
    if (missing.size === 0) return;
    const found = await this.table.loadMany([...missing]);
    for (const key of missing) {
      // A write may have happened meanwhile; it wins.
      if (!this.docs.has(key)) this.docs.set(key, (found.get(key) as TDoc | undefined) ?? null);
    }
  }

  put(key: string, doc: TDoc): void {
    this.checkKey(key);
    // Checked now rather than at commit so that the error points at the event that wrote it.
    indexValues(this.collection, this.indexes, doc);
    this.docs.set(key, doc);
    this.dirty.add(key);
  }

  async patch(key: string, changes: Partial<TDoc>): Promise<TDoc> {
    const current = await this.get(key);
    if (current === undefined) throw new DocumentNotFoundError(this.collection, key);
    const next = { ...current, ...changes } as TDoc;
    this.put(key, next);
    return next;
  }

  async update(key: string, change: (doc: TDoc | undefined) => TDoc | undefined): Promise<TDoc | undefined> {
    const next = change(await this.get(key));
    if (next === undefined) this.delete(key);
    else this.put(key, next);
    return next;
  }

  delete(key: string): void {
    this.checkKey(key);
    this.docs.set(key, null);
    this.dirty.add(key);
  }

  async find(query: DocumentQuery<TDoc> = {}): Promise<TDoc[]> {
    const plan = planQuery(this.collection, this.indexes, query);
    if (this.dirty.size === 0) return (await this.table.find(plan)).map((row) => row.doc as TDoc);
    // Committed rows this batch changed are replaced by their batch versions; enough extra rows are
    // fetched that the page is still full after dropping them.
    const widened = { ...plan, offset: 0, limit: plan.offset + plan.limit + this.dirty.size };
    const committed = (await this.table.find(widened)).filter((row) => !this.dirty.has(row.key));
    const changed: { key: string; doc: object }[] = [];
    for (const key of this.dirty) {
      const doc = this.docs.get(key);
      if (doc && matchesPlan(plan, key, doc as Record<string, unknown>)) changed.push({ key, doc });
    }
    return [...committed, ...changed]
      .map((row) => ({ key: row.key, values: row.doc as Record<string, unknown>, doc: row.doc }))
      .sort((a, b) => compareForPlan(plan, a, b))
      .slice(plan.offset, plan.offset + plan.limit)
      .map((row) => row.doc as TDoc);
  }

  /** Writes the batch's changes; resolves to the changed keys. */
  async flush(): Promise<string[]> {
    if (this.dirty.size === 0) return [];
    const upserts: DocumentUpsert[] = [];
    const deletes: string[] = [];
    for (const key of this.dirty) {
      const doc = this.docs.get(key);
      if (!doc) {
        deletes.push(key);
        continue;
      }
      // Serialised at the end so that the last state of the document is what is stored.
      upserts.push({
        key,
        json: serialiseDocument(this.collection, key, doc),
        values: indexValues(this.collection, this.indexes, doc),
      });
    }
    await this.table.write(upserts, deletes);
    return [...this.dirty];
  }

  private checkKey(key: string): void {
    if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new InvalidDocumentError(
        `a document key in "${this.collection}" must be a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${JSON.stringify(key)}`,
      );
    }
  }
}
