import type { DocumentWriter } from './document';
import { DocumentBatch, type DocumentTable } from './document-batch';
import { InvalidProjectionError } from './errors';
import { quoteIdentifier } from './identifier';
import type { CollectionMap, DocumentOf, ProjectionTransaction, ReadModelDialect, SqlParameter } from './projection';
import type { SlotLayout } from './read-model-store';

/** What a store supplies to run one batch: table access and, for SQL stores, statements. */
export interface TransactionBackend {
  readonly dialect: ReadModelDialect;
  documentTable(table: string, indexes: SlotLayout['collections'][number]['indexes']): DocumentTable;
  execute?(sql: string, parameters: readonly SqlParameter[]): Promise<number>;
  query?<Row extends object>(sql: string, parameters: readonly SqlParameter[]): Promise<Row[]>;
}

/**
 * The `ProjectionTransaction` every store hands to handlers: it resolves collection and table names to
 * the slot's physical tables and collects what changed for the change feed.
 */
export class BatchTransaction implements ProjectionTransaction<CollectionMap> {
  private readonly batches = new Map<string, DocumentBatch<object>>();
  private readonly changedKeys = new Set<string>();

  constructor(
    private readonly layout: SlotLayout,
    private readonly backend: TransactionBackend,
  ) {}

  get dialect(): ReadModelDialect {
    return this.backend.dialect;
  }

  documents<K extends string>(collection: K): DocumentWriter<DocumentOf<CollectionMap[K]>> {
    let batch = this.batches.get(collection);
    if (!batch) {
      const spec = this.layout.collections.find((candidate) => candidate.name === collection);
      if (!spec) {
        throw new InvalidProjectionError(`projection "${this.layout.projection}" declares no collection "${collection}"`);
      }
      batch = new DocumentBatch(collection, spec.indexes, this.backend.documentTable(spec.table, spec.indexes));
      this.batches.set(collection, batch);
    }
    return batch;
  }

  table(name: string): string {
    const spec = this.layout.tables.find((candidate) => candidate.name === name);
    if (!spec) throw new InvalidProjectionError(`projection "${this.layout.projection}" declares no table "${name}"`);
    return quoteIdentifier(spec.table);
  }

  execute(sql: string, parameters: readonly SqlParameter[] = []): Promise<number> {
    if (!this.backend.execute) return Promise.reject(this.noSql());
    return this.backend.execute(sql, parameters);
  }

  query<Row extends object>(sql: string, parameters: readonly SqlParameter[] = []): Promise<Row[]> {
    if (!this.backend.query) return Promise.reject(this.noSql());
    return this.backend.query<Row>(sql, parameters);
  }

  changed(key: string): void {
    this.changedKeys.add(String(key));
  }

  /** Writes every collection's buffered documents; resolves to all changed keys. */
  async flush(): Promise<string[]> {
    for (const batch of this.batches.values()) {
      for (const key of await batch.flush()) this.changedKeys.add(key);
    }
    return [...this.changedKeys];
  }

  private noSql(): InvalidProjectionError {
    return new InvalidProjectionError(
      `the ${this.backend.dialect} read-model store runs no SQL; projection "${this.layout.projection}" can only use documents there`,
    );
  }
}
