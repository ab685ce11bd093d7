import { InMemoryReactorStateStore } from '../../src/handlers';
import { reactorStateStoreConformance } from './state-store.conformance';

reactorStateStoreConformance('in memory', () => Promise.resolve(new InMemoryReactorStateStore({ shared: true })));
