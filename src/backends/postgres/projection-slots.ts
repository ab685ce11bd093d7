import type pg from 'pg';
import { Position } from '../../event-store/position';
import { createDocumentIndexes, createDocumentTable } from '../../projections/document-sql';
import { InvalidProjectionError } from '../../projections/errors';
import { quoteIdentifier } from '../../projections/identifier';
import type { ProjectionFailure, ProjectionRecord, SlotLayout } from '../../projections/read-model-store';
import { withTransaction } from './pool';
import { readModelConnectionFailures } from './read-model-unavailable';

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS eventfold_projections (
     name TEXT NOT NULL PRIMARY KEY,
     active_version INTEGER NOT NULL,
     active_generation INTEGER NOT NULL,
     views JSONB NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
   )`,
  `CREATE TABLE IF NOT EXISTS eventfold_projection_slots (
     name TEXT NOT NULL,
     slot TEXT NOT NULL,
     version INTEGER NOT NULL,
     generation INTEGER NOT NULL,
     position TEXT,
     events_handled BIGINT NOT NULL DEFAULT 0,
     failure JSONB,
     tables JSONB NOT NULL,
     updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
     PRIMARY KEY (name, slot)
   )`,
];

interface SlotRow {
  version: number;
  generation: number;
  position: string | null;
  events_handled: string;
  failure: ProjectionFailure | null;
  tables: { name: string; table: string }[];
}

/**
 * The bookkeeping of projection slots (a slot is one version of a projection's tables, built side by
 * side for blue/green rebuilds): which slots exist, their checkpoints, and which one the views show.
 * Every change runs in a transaction under an advisory lock per projection.
 */
export class ProjectionSlots {
  constructor(
    private readonly pool: pg.Pool,
    private readonly lockTimeoutMs: number,
  ) {}

  /** Creates the bookkeeping tables if needed. */
  migrate(): Promise<void> {
    return this.transaction(async (client) => {
      // Two processes starting at once must not race on CREATE TABLE IF NOT EXISTS.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('eventfold_projections'))");
      for (const statement of SCHEMA) await client.query(statement);
    });
  }

  /** The projection's active version and every slot's checkpoint. */
  async load(projection: string): Promise<ProjectionRecord> {
    const [active, slots] = await Promise.all([
      this.pool.query<{ active_version: number; active_generation: number }>(
        'SELECT active_version, active_generation FROM eventfold_projections WHERE name = $1',
        [projection],
      ),
      this.pool.query<SlotRow>(
        'SELECT version, generation, position, events_handled, failure, tables FROM eventfold_projection_slots WHERE name = $1',
        [projection],
      ),
    ]);
    const row = active.rows[0];
    return {
      active: row && { version: row.active_version, generation: row.active_generation },
      slots: slots.rows.map((slot) => ({
        version: slot.version,
        generation: slot.generation,
        position: slot.position === null ? undefined : Position.parse(slot.position),
        eventsHandled: Number(slot.events_handled),
        failure: slot.failure ?? undefined,
      })),
    };
  }

  /** Creates the slot's tables and its bookkeeping row, unless the slot exists. */
  create(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const existing = await client.query('SELECT 1 FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [
        layout.projection,
        layout.id,
      ]);
      if (existing.rowCount) return;
      for (const collection of layout.collections) {
        for (const statement of createDocumentTable('postgres', collection.table, collection.indexes)) await client.query(statement);
      }
      for (const table of layout.tables) {
        for (const statement of table.definition.create(quoteIdentifier(table.table), 'postgres')) await client.query(statement);
      }
      await client.query(
        `INSERT INTO eventfold_projection_slots (name, slot, version, generation, tables) VALUES ($1, $2, $3, $4, $5)`,
        [layout.projection, layout.id, layout.version, layout.generation, JSON.stringify(physicalTables(layout))],
      );
    });
  }

  /** Creates the indexes of the slot's document tables (after a rebuild filled them). */
  index(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      for (const collection of layout.collections) {
        for (const statement of createDocumentIndexes(collection.table, collection.indexes)) await client.query(statement);
      }
    });
  }

  /** Points the projection's views at the slot's tables: the switch-over of a blue/green rebuild. */
  activate(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.lockTimeoutMs)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const slot = await client.query('SELECT 1 FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [
        layout.projection,
        layout.id,
      ]);
      if (!slot.rowCount) throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" does not exist`);
      const views = physicalTables(layout);
      const names = views.map((view) => view.name);
      const owners = await client.query<{ name: string; view: string }>(
        `SELECT name, view FROM eventfold_projections, jsonb_array_elements_text(views) AS view
         WHERE name <> $1 AND view = ANY($2::text[])`,
        [layout.projection, names],
      );
      const taken = owners.rows[0];
      if (taken) throw new InvalidProjectionError(`"${taken.view}" already belongs to projection "${taken.name}"`);
      const previous = await client.query<{ views: string[] }>('SELECT views FROM eventfold_projections WHERE name = $1', [
        layout.projection,
      ]);
      for (const view of new Set([...(previous.rows[0]?.views ?? []), ...names])) {
        await client.query(`DROP VIEW IF EXISTS ${quoteIdentifier(view)}`);
      }
      for (const view of views) {
        await client.query(`CREATE VIEW ${quoteIdentifier(view.name)} AS SELECT * FROM ${quoteIdentifier(view.table)}`);
      }
      await client.query(
        `INSERT INTO eventfold_projections (name, active_version, active_generation, views) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version,
           active_generation = excluded.active_generation, views = excluded.views, updated_at = now()`,
        [layout.projection, layout.version, layout.generation, JSON.stringify(names)],
      );
    });
  }

  /** Drops an inactive slot's tables (the stored list, not the layout's) and its bookkeeping row. */
  drop(layout: SlotLayout): Promise<void> {
    return this.transaction(async (client) => {
      await client.query(`SET LOCAL lock_timeout = ${Math.round(this.lockTimeoutMs)}`);
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`eventfold_projection:${layout.projection}`]);
      const row = (
        await client.query<SlotRow>(
          'SELECT version, generation, tables FROM eventfold_projection_slots WHERE name = $1 AND slot = $2',
          [layout.projection, layout.id],
        )
      ).rows[0];
      if (!row) return;
      const active = (
        await client.query<{ active_version: number; active_generation: number }>(
          'SELECT active_version, active_generation FROM eventfold_projections WHERE name = $1',
          [layout.projection],
        )
      ).rows[0];
      if (active && active.active_version === row.version && active.active_generation === row.generation) {
        throw new InvalidProjectionError(`slot ${layout.id} of "${layout.projection}" is active; it cannot be dropped`);
      }
      // The stored list, not the layout: an older version may have had tables this code no longer knows.
      for (const { table } of row.tables) await client.query(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
      await client.query('DELETE FROM eventfold_projection_slots WHERE name = $1 AND slot = $2', [layout.projection, layout.id]);
    });
  }

  /** Sets or clears the failure that stopped the slot (shown by the admin API). */
  async recordFailure(layout: SlotLayout, failure: ProjectionFailure | undefined): Promise<void> {
    await this.pool.query('UPDATE eventfold_projection_slots SET failure = $3, updated_at = now() WHERE name = $1 AND slot = $2', [
      layout.projection,
      layout.id,
      failure ? JSON.stringify(failure) : null,
    ]);
  }

  private transaction(work: (client: pg.PoolClient) => Promise<void>): Promise<void> {
    return withTransaction(this.pool, work, readModelConnectionFailures('transaction'));
  }
}

function physicalTables(layout: SlotLayout): { name: string; table: string }[] {
  return [...layout.collections, ...layout.tables].map(({ name, table }) => ({ name, table }));
}
