import { resolve } from 'node:path';
import { parseConnectionString } from '../../event-store/connect';
import type { EventStore, RecordedEvent } from '../../event-store/event-store';
import { Position } from '../../event-store/position';
import { eventImporterOf, storeAdminOf, type ImportCheckpoint, type ImportedEvent, type ImportResult } from '../../event-store/store-admin';
import { CliExit, EXIT_USAGE } from '../exit-codes';

/** An event on its way: as recorded, with its source position as an opaque string. */
export type SourceEvent = ImportedEvent & { readonly position: string };

/** Where a copy reads: a store's `$all`, or an export file. */
export interface CopySource {
  /** Names the source in checkpoints (never a password). */
  readonly key: string;
  /** How many events it holds, when it can tell cheaply. */
  count(): Promise<number | undefined>;
  /** Its events in `$all` order, after what `checkpoint` covered. */
  read(checkpoint: ImportCheckpoint | undefined): AsyncIterable<SourceEvent>;
  close(): Promise<void>;
}

/** Where a copy writes: a store that can import, or an export file. */
export interface CopyTarget {
  readonly key: string;
  /** How far an earlier copy from `source` got. */
  checkpoint(source: string): Promise<ImportCheckpoint | undefined>;
  /** Writes a batch and its checkpoint together. */
  write(batch: readonly SourceEvent[], checkpoint: ImportCheckpoint): Promise<ImportResult>;
  /** Everything it holds, in order, for the verification. */
  read(): AsyncIterable<SourceEvent>;
  close(): Promise<void>;
}

/**
 * A store's name for checkpoints: its connection string with the password removed, and a SQLite path
 * made absolute, so the same store is recognised from another working directory.
 */
export function storeKey(connectionString: string): string {
  const location = parseConnectionString(connectionString);
  switch (location.backend) {
    case 'memory':
      return 'memory:';
    case 'sqlite':
      return `sqlite:${location.path === ':memory:' ? location.path : resolve(location.path)}`;
    case 'postgres':
    case 'eventstoredb':
      return location.url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1@');
    default: {
      const unreachable: never = location;
      return unreachable;
    }
  }
}

function sourceEvent(event: RecordedEvent): SourceEvent {
  return { ...event, position: event.position.toString() };
}

export function storeSource(store: EventStore, key: string): CopySource {
  return {
    key,
    async count() {
      return (await storeAdminOf(store)?.statistics())?.events;
    },
    async *read(checkpoint) {
      const fromPosition = checkpoint ? Position.parse(checkpoint.position) : 'start';
      for await (const event of store.readAll({ fromPosition })) yield sourceEvent(event);
    },
    close: () => store.close(),
  };
}

export function storeTarget(store: EventStore, key: string): CopyTarget {
  const importer = eventImporterOf(store);
  if (!importer) {
    throw new CliExit(EXIT_USAGE, `a ${store.backend} store cannot take a copy (it cannot keep recorded times and order): copy to SQLite, PostgreSQL or ndjson:<file>`);
  }
  return {
    key,
    checkpoint: (source) => importer.importCheckpoint(source),
    write: (batch, checkpoint) => importer.importEvents(batch, checkpoint),
    async *read() {
      for await (const event of store.readAll()) yield sourceEvent(event);
    },
    close: () => store.close(),
  };
}
