import type { EventStore } from '../event-store/event-store';
import { InvalidReactorError } from './errors';
import { InMemoryReactorStateStore } from './in-memory-reactor-state-store';
import type { ReactorStateStore } from './reactor-state-store';

/**
 * A store whose database also keeps reactor bookkeeping (SQLite, PostgreSQL): the backend opens it
 * beside its event tables.
 */
export interface ReactorStateHost {
  openReactorState(): Promise<ReactorStateStore>;
}

/** Whether a store keeps reactor bookkeeping in its own database. */
export function isReactorStateHost(store: unknown): store is ReactorStateHost {
  return typeof (store as Partial<ReactorStateHost> | undefined)?.openReactorState === 'function';
}

/** One in-memory bookkeeping per in-memory store, so that a restarted runner resumes its checkpoints. */
const memoryStates = new WeakMap<EventStore, InMemoryReactorStateStore>();

/**
 * The bookkeeping that lives with a store: tables in its own database when the backend keeps them, or
 * memory kept for as long as a non-durable store lives.
 *
 * @example
 * const state = await reactorStateStoreFor(store);
 * @throws InvalidReactorError for a durable store that keeps none (EventStoreDB: pass `state` explicitly).
 */
export async function reactorStateStoreFor(store: EventStore): Promise<ReactorStateStore> {
  if (isReactorStateHost(store)) return store.openReactorState();
  if (!store.capabilities.durable) {
    let state = memoryStates.get(store);
    if (!state) memoryStates.set(store, (state = new InMemoryReactorStateStore()));
    return Promise.resolve(new NonClosing(state));
  }
  throw new InvalidReactorError(
    `the ${store.backend} store keeps no reactor bookkeeping: pass options.state (e.g. a PostgresReactorStateStore from eventfold/postgres)`,
  );
}

/** Shares an in-memory state between runners without letting one close it for the next. */
class NonClosing implements ReactorStateStore {
  readonly backend = 'memory' as const;
  readonly shared = false;
  readonly singleWriter = false;
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
