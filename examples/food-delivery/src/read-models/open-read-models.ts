import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  InMemoryReadModelStore,
  parseConnectionString,
  SqliteReadModelStore,
  type ReadModelStore,
} from '../eventfold';

/**
 * Where the read models live, following the event store: next to the SQLite file, in the same
 * PostgreSQL database, in memory for `memory:`, and in a SQLite file in the data folder for EventStoreDB
 * (which has no tables of its own).
 */
export async function openReadModels(connectionString: string, dataDir: string): Promise<ReadModelStore> {
  const location = parseConnectionString(connectionString);
  switch (location.backend) {
    case 'memory':
      return new InMemoryReadModelStore();
    case 'sqlite': {
      if (location.path === ':memory:') return new InMemoryReadModelStore();
      mkdirSync(dirname(location.path), { recursive: true });
      return SqliteReadModelStore.open(join(dirname(location.path), 'read-models.db'));
    }
    case 'postgres': {
      // Loaded here, so that an app on SQLite never loads pg.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { PostgresReadModelStore } = require('../postgres') as typeof import('../postgres');
      // forgetCustomer's scrub rewrites the (small) order tables, so erased names leave their files.
      return PostgresReadModelStore.connect(location.url, { scrub: 'vacuum-full' });
    }
    case 'eventstoredb':
      mkdirSync(dataDir, { recursive: true });
      return SqliteReadModelStore.open(join(dataDir, 'read-models.db'));
    default: {
      const _never: never = location;
      return _never;
    }
  }
}
