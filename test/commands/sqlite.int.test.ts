import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteSnapshotStore } from '../../src/commands';
import { SqliteEventStore } from '../../src/event-store/sqlite-event-store';
import { runCommandSuite } from './command-suite';

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
