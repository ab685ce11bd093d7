import type { EventStore } from '../event-store/event-store';
import type { PostgresEventStore } from '../event-store/postgres-event-store';
import type { SqliteEventStore } from '../event-store/sqlite-event-store';
import { InvalidReactorError } from './errors';
import { InMemoryReactorStateStore } from './in-memory-reactor-state-store';
import { PostgresReactorStateStore } from './postgres-reactor-state-store';
import type { ReactorStateStore } from './reactor-state-store';
import { SqliteReactorStateStore } from './sqlite-reactor-state-store';

/** One in-memory bookkeeping per in-memory store, so that a restarted runner resumes its checkpoints. */
const memoryStates = new WeakMap<EventStore, InMemoryReactorStateStore>();

/**
 * The bookkeeping that lives with a store: tables in its SQLite file or PostgreSQL database, or memory
 * kept for as long as the in-memory store lives.
 *
 * @example
 * const state = await reactorStateStoreFor(store);
 * @throws InvalidReactorError for EventStoreDB (pass `state` explicitly, e.g. a PostgreSQL one).
 */
export async function reactorStateStoreFor(store: EventStore): Promise<ReactorStateStore> {
  switch (store.backend) {
    case 'memory': {
      let state = memoryStates.get(store);
      if (!state) memoryStates.set(store, (state = new InMemoryReactorStateStore()));
      return new NonClosing(state);
    }
    case 'sqlite':
      return SqliteReactorStateStore.open((store as SqliteEventStore).database);
    case 'postgres':
      return PostgresReactorStateStore.create((store as PostgresEventStore).pool);
    case 'eventstoredb':
      throw new InvalidReactorError('EventStoreDB keeps no reactor bookkeeping: pass options.state (e.g. PostgresReactorStateStore.create(pool))');
    default: {
      const _never: never = store.backend;
      return _never;
    }
  }
}

/** Shares an in-memory state between runners without letting one close it for the next. */
class NonClosing implements ReactorStateStore {
  readonly backend = 'memory' as const;
  readonly shared = false;
  constructor(private readonly inner: InMemoryReactorStateStore) {}
  preparePartitions: ReactorStateStore['preparePartitions'] = (...args) => this.inner.preparePartitions(...args);
  claimLeases: ReactorStateStore['claimLeases'] = (...args) => this.inner.claimLeases(...args);
  releaseLeases: ReactorStateStore['releaseLeases'] = (...args) => this.inner.releaseLeases(...args);
  leaveGroup: ReactorStateStore['leaveGroup'] = (...args) => this.inner.leaveGroup(...args);
  listLeases: ReactorStateStore['listLeases'] = (...args) => this.inner.listLeases(...args);
  loadCheckpoints: ReactorStateStore['loadCheckpoints'] = (...args) => this.inner.loadCheckpoints(...args);
  saveCheckpoints: ReactorStateStore['saveCheckpoints'] = (...args) => this.inner.saveCheckpoints(...args);
  park: ReactorStateStore['park'] = (...args) => this.inner.park(...args);
  repark: ReactorStateStore['repark'] = (...args) => this.inner.repark(...args);
  removeParked: ReactorStateStore['removeParked'] = (...args) => this.inner.removeParked(...args);
  listParked: ReactorStateStore['listParked'] = (...args) => this.inner.listParked(...args);
  parkedInStream: ReactorStateStore['parkedInStream'] = (...args) => this.inner.parkedInStream(...args);
  blockedStreams: ReactorStateStore['blockedStreams'] = (...args) => this.inner.blockedStreams(...args);
  countParked: ReactorStateStore['countParked'] = (...args) => this.inner.countParked(...args);
  requestRedrive: ReactorStateStore['requestRedrive'] = (...args) => this.inner.requestRedrive(...args);
  redriveRequested: ReactorStateStore['redriveRequested'] = (...args) => this.inner.redriveRequested(...args);
  recordInvocations: ReactorStateStore['recordInvocations'] = (...args) => this.inner.recordInvocations(...args);
  listInvocations: ReactorStateStore['listInvocations'] = (...args) => this.inner.listInvocations(...args);
  pruneInvocations: ReactorStateStore['pruneInvocations'] = (...args) => this.inner.pruneInvocations(...args);
  close(): Promise<void> {
    return Promise.resolve();
  }
}
