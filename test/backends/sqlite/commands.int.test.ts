import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSnapshotStore } from '../../../src/backends/sqlite';
import { SqliteEventStore } from '../../../src/backends/sqlite/sqlite-event-store';
import { runCommandSuite } from '../../commands/command-suite';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-commands-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let files = 0;
runCommandSuite('SQLite', () => {
  const path = join(folder, `commands-${files++}.db`);
  return Promise.resolve(() => {
    const store = SqliteEventStore.open(path);
    return Promise.resolve({ store, snapshots: new SqliteSnapshotStore(store.database), close: () => store.close() });
  });
});
