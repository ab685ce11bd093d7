import type pg from 'pg';
import type { IndexType } from '../../projections/document';
import type { DocumentTable, DocumentUpsert } from '../../projections/document-batch';
import { selectDocuments } from '../../projections/document-sql';
import { quoteField, quoteIdentifier } from '../../projections/identifier';

/** Rows per multi-row upsert statement. */
const UPSERT_CHUNK = 5_000;

const SQL_TYPES: Record<IndexType, string> = { text: 'text', number: 'float8', boolean: 'boolean' };

/**
 * A write kept for the batch's final statement: `statement(placeholder, condition)` is a data-modifying
 * statement for a WITH clause that takes `parameter` as `placeholder` and writes only when `condition`.
 */
export interface DeferredWrite {
  readonly parameter: unknown;
  statement(placeholder: string, condition: string): string;
}

/**
 * Access to one document table on `client`. With `deferred`, writes are not run but kept for the
 * batch's final statement; without it (inline batches), they run at once.
 */
export function documentTable(
  client: pg.PoolClient,
  table: string,
  indexes: Readonly<Record<string, IndexType>>,
  deferred?: DeferredWrite[],
): DocumentTable {
  const name = quoteIdentifier(table);
  const fields = Object.keys(indexes);
  const columns = ['"key"', '"doc"', ...fields.map(quoteField)];
  // Rows travel as one JSON array, unpacked by the server: the documents are already JSON text, so
  // building it is string concatenation, where a text[]/jsonb[] parameter would escape every quote.
  const record = ['k text', 'd jsonb', ...fields.map((field, index) => `f${index} ${SQL_TYPES[indexes[field]!]}`)];
  const upsertWhere = (placeholder: string, condition: string): string => `INSERT INTO ${name} (${columns.join(', ')})
    SELECT k, d${fields.map((_, index) => `, f${index}`).join('')} FROM json_to_recordset(${placeholder}::json) AS r(${record.join(', ')})
    WHERE ${condition}
    ON CONFLICT ("key") DO UPDATE SET ${columns.slice(1).map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`;
  const deleteWhere = (placeholder: string, condition: string): string =>
    `DELETE FROM ${name} WHERE "key" = ANY(${placeholder}::text[]) AND ${condition}`;
  const upsert = upsertWhere('$1', 'true');
  return {
    load: async (key) => {
      const result = await client.query<{ doc: string }>(`SELECT "doc"::text AS doc FROM ${name} WHERE "key" = $1`, [key]);
      const row = result.rows[0];
      return row ? (JSON.parse(row.doc) as object) : undefined;
    },
    loadMany: async (keys) => {
      const result = await client.query<{ key: string; doc: string }>(
        `SELECT "key", "doc"::text AS doc FROM ${name} WHERE "key" = ANY($1::text[])`,
        [keys],
      );
      return new Map(result.rows.map((row) => [row.key, JSON.parse(row.doc) as object]));
    },
    find: async (plan) => {
      const statement = selectDocuments('postgres', table, plan);
      const result = await client.query<{ key: string; doc: string }>(statement.text, statement.parameters);
      return result.rows.map((row) => ({ key: row.key, doc: JSON.parse(row.doc) as object }));
    },
    write: async (upserts: readonly DocumentUpsert[], deletes: readonly string[]) => {
      if (deletes.length > 0) {
        if (deferred) deferred.push({ parameter: deletes, statement: deleteWhere });
        else await client.query(deleteWhere('$1', 'true'), [deletes]);
      }
      for (let start = 0; start < upserts.length; start += UPSERT_CHUNK) {
        const rows = upserts.slice(start, start + UPSERT_CHUNK).map((row) => {
          let text = `{"k":${JSON.stringify(row.key)},"d":${row.json}`;
          row.values.forEach((value, index) => (text += `,"f${index}":${JSON.stringify(value)}`));
          return `${text}}`;
        });
        if (deferred) deferred.push({ parameter: `[${rows.join(',')}]`, statement: upsertWhere });
        else await client.query(upsert, [`[${rows.join(',')}]`]);
      }
    },
  };
}
