/* eslint-disable @typescript-eslint/no-require-imports -- backends load on demand (see loadBackend) */
import { assertInstalled } from '../internal/optional-package';
import { InvalidConnectionStringError } from './errors';
import type { EventStore } from './event-store';
import { InMemoryEventStore } from './in-memory-event-store';
import type { PagedEventStoreOptions } from './paged-event-store';

export type ConnectOptions = PagedEventStoreOptions;

/** What a connection string names, before anything is opened. */
export type StoreLocation =
  | { readonly backend: 'memory' }
  | { readonly backend: 'sqlite'; readonly path: string }
  | { readonly backend: 'postgres'; readonly url: string }
  | { readonly backend: 'eventstoredb'; readonly url: string };

/**
 * Parses a store connection string: `memory:`, `sqlite:<path>` (or `sqlite::memory:`), `postgres://…`
 * (or `postgresql://…`), `esdb://…` / `esdb+discover://…` / `kurrentdb://…`.
 *
 * @example
 * parseConnectionString('sqlite:./data/events.db'); // { backend: 'sqlite', path: './data/events.db' }
 * @throws InvalidConnectionStringError for anything else.
 */
export function parseConnectionString(connectionString: string): StoreLocation {
  if (typeof connectionString !== 'string' || connectionString.trim() === '') {
    throw new InvalidConnectionStringError(
      'the store connection string is empty; use memory:, sqlite:<path>, postgres://… or esdb://…',
    );
  }
  const text = connectionString.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory':
      if (text.length > 'memory:'.length) {
        throw new InvalidConnectionStringError(`"memory:" takes nothing after the colon, got ${JSON.stringify(text)}`);
      }
      return { backend: 'memory' };
    case 'sqlite': {
      const path = text.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
      if (path === '') throw new InvalidConnectionStringError('"sqlite:" needs a file path, e.g. sqlite:./data/events.db');
      return { backend: 'sqlite', path };
    }
    case 'postgres':
    case 'postgresql':
      assertUrl(text);
      return { backend: 'postgres', url: text };
    case 'esdb':
    case 'esdb+discover':
    case 'kurrentdb':
    case 'kurrentdb+discover':
    case 'kdb':
    case 'kdb+discover':
      // Cluster strings list several hosts (a:2113,b:2113), which URL() refuses; check the shape only.
      if (!/^[a-z+]+:\/\/[^/?#\s]+/i.test(text)) {
        throw new InvalidConnectionStringError(`malformed connection string ${JSON.stringify(redact(text))}`);
      }
      return { backend: 'eventstoredb', url: text.replace(/^(kurrentdb|kdb)/i, 'esdb') };
    default:
      throw new InvalidConnectionStringError(
        `unknown store ${JSON.stringify(redact(text))}: use memory:, sqlite:<path>, postgres://… or esdb://…`,
      );
  }
}

/** The store used when neither an argument nor `EVENTFOLD_STORE` names one: an embedded file, zero set-up. */
export const DEFAULT_STORE = 'sqlite:./data/eventfold.db';

/** The connection string in force: the argument, else `EVENTFOLD_STORE`, else {@link DEFAULT_STORE}. */
export function resolveConnectionString(connectionString?: string, env: NodeJS.ProcessEnv = process.env): string {
  return connectionString ?? (env.EVENTFOLD_STORE?.trim() || DEFAULT_STORE);
}

/**
 * Opens the event store a connection string names; the same strings work everywhere (library,
 * `EVENTFOLD_STORE`, CLI). Without an argument it reads `EVENTFOLD_STORE`.
 *
 * @example
 * const store = await connectEventStore(); // EVENTFOLD_STORE, or sqlite:./data/eventfold.db
 * const other = await connectEventStore('postgres://app:secret@127.0.0.1:5432/app');
 */
export async function connectEventStore(connectionString?: string, options: ConnectOptions = {}): Promise<EventStore> {
  const location = parseConnectionString(resolveConnectionString(connectionString));
  // A backend's module (and so its driver) loads only when a connection string names it.
  switch (location.backend) {
    case 'memory':
      return new InMemoryEventStore(options);
    case 'sqlite': {
      const { SqliteEventStore } = loadBackend('better-sqlite3', 'eventfold/sqlite', () => require('../backends/sqlite') as typeof import('../backends/sqlite'));
      return SqliteEventStore.open(location.path, options);
    }
    case 'postgres': {
      const { PostgresEventStore } = loadBackend('pg', 'eventfold/postgres', () => require('../backends/postgres') as typeof import('../backends/postgres'));
      return PostgresEventStore.connect(location.url, options);
    }
    case 'eventstoredb': {
      const { EventStoreDbEventStore } = loadBackend(
        '@eventstore/db-client',
        'eventfold/eventstoredb',
        () => require('../backends/eventstoredb') as typeof import('../backends/eventstoredb'),
      );
      return EventStoreDbEventStore.connect(location.url, options);
    }
    default: {
      const unreachable: never = location;
      throw new InvalidConnectionStringError(`unsupported store ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Loads a backend module; a missing driver becomes an error that names the package to install. The
 * package is CommonJS, so `require` loads the backend exactly when a connection string names it (a
 * dynamic `import()` would need the compiled file's extension, which the TypeScript loaders lack).
 */
function loadBackend<Module>(driver: string, entry: string, load: () => Module): Module {
  assertInstalled(driver, entry);
  return load();
}

function assertUrl(text: string): void {
  try {
    const url = new URL(text);
    if (!url.host && !url.pathname.replace(/^\/+/, '')) throw new Error('no host');
  } catch {
    throw new InvalidConnectionStringError(`malformed connection string ${JSON.stringify(redact(text))}`);
  }
}

/** Never echo a password back in an error message. */
function redact(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
