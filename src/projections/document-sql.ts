import type { IndexType, IndexValue, QueryPlan } from './document';
import { quoteField, quoteIdentifier } from './identifier';
import type { SqlDialect } from './projection';

/** SQL text plus its parameters. The text holds only validated identifiers and placeholders. */
export interface SqlStatement {
  readonly text: string;
  readonly parameters: unknown[];
}

const COLUMN_TYPES: Record<SqlDialect, Record<IndexType, string>> = {
  sqlite: { text: 'TEXT', number: 'REAL', boolean: 'INTEGER' },
  postgres: { text: 'TEXT COLLATE "C"', number: 'DOUBLE PRECISION', boolean: 'BOOLEAN' },
};

/**
 * The statement creating a document table (its key is its only index: see `createDocumentIndexes`).
 * On SQLite the table is clustered on the key (`WITHOUT ROWID`): one B-tree to read and write per
 * document instead of a table plus a key index.
 */
export function createDocumentTable(dialect: SqlDialect, table: string, indexes: Readonly<Record<string, IndexType>>): string[] {
  const name = quoteIdentifier(table);
  const columns = Object.entries(indexes).map(([field, type]) => `, ${quoteField(field)} ${COLUMN_TYPES[dialect][type]}`);
  return [
    dialect === 'sqlite'
      ? `CREATE TABLE IF NOT EXISTS ${name} ("key" TEXT NOT NULL PRIMARY KEY, "doc" TEXT NOT NULL${columns.join('')}) WITHOUT ROWID`
      : `CREATE TABLE IF NOT EXISTS ${name} ("key" TEXT COLLATE "C" NOT NULL PRIMARY KEY, "doc" JSONB NOT NULL${columns.join('')})`,
  ];
}

/**
 * One index per indexed field. Created once a slot has caught up: building an index over a full table
 * is far cheaper than maintaining it through a rebuild's inserts, and nobody queries a slot that is
 * still rebuilding. Index names are numbered rather than named after fields, to stay within 63 characters.
 */
export function createDocumentIndexes(table: string, indexes: Readonly<Record<string, IndexType>>): string[] {
  const name = quoteIdentifier(table);
  return Object.keys(indexes).map(
    (field, ordinal) => `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${table}_i${ordinal}`)} ON ${name} (${quoteField(field)}, "key")`,
  );
}

/** `SELECT key, doc ...` for a query plan; `count` gives `SELECT COUNT(*)` over the same filters. */
export function selectDocuments(dialect: SqlDialect, table: string, plan: QueryPlan, count = false): SqlStatement {
  const parameters: unknown[] = [];
  const placeholder = (value: unknown): string => {
    parameters.push(dialect === 'sqlite' && typeof value === 'boolean' ? Number(value) : value);
    return dialect === 'sqlite' ? '?' : `$${parameters.length}`;
  };
  const conditions = plan.filters.map(({ field, values }) => {
    const column = field === 'key' ? '"key"' : quoteField(field);
    const present = values.filter((value): value is Exclude<IndexValue, null> => value !== null);
    const parts: string[] = [];
    if (present.length > 0) parts.push(`${column} IN (${present.map(placeholder).join(', ')})`);
    if (present.length < values.length) parts.push(`${column} IS NULL`);
    return parts.length === 1 ? parts[0]! : `(${parts.join(' OR ')})`;
  });
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
  const from = `FROM ${quoteIdentifier(table)}${where}`;
  if (count) return { text: `SELECT COUNT(*) AS count ${from}`, parameters };
  const direction = plan.direction === 'asc' ? 'ASC' : 'DESC';
  // Nulls sort first ascending and last descending on both databases, as in memory.
  const nulls = plan.direction === 'asc' ? 'NULLS FIRST' : 'NULLS LAST';
  const order =
    plan.orderBy === 'key' ? `"key" ${direction}` : `${quoteField(plan.orderBy)} ${direction} ${nulls}, "key" ${direction}`;
  const docColumn = dialect === 'postgres' ? '"doc"::text AS "doc"' : '"doc"';
  return {
    text: `SELECT "key", ${docColumn} ${from} ORDER BY ${order} LIMIT ${placeholder(plan.limit)} OFFSET ${placeholder(plan.offset)}`,
    parameters,
  };
}

/** Index values as the database stores them (SQLite has no booleans). */
export function toSqlValues(dialect: SqlDialect, values: readonly IndexValue[]): unknown[] {
  return dialect === 'sqlite' ? values.map((value) => (typeof value === 'boolean' ? Number(value) : value)) : [...values];
}
