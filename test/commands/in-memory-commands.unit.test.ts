import { InMemorySnapshotStore } from '../../src/commands';
import { InMemoryEventStore } from '../../src/event-store';
import { runCommandSuite } from './command-suite';

// Memory survives no restart of the process, so a "restart" here reopens the same store and snapshots:
// closing is a no-op, as it is for the data of a durable file.
runCommandSuite('in-memory', () => {
  const store = new InMemoryEventStore();
  const snapshots = new InMemorySnapshotStore();
  return Promise.resolve(() => Promise.resolve({ store, snapshots, close: () => Promise.resolve() }));
});
