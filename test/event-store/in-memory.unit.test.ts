import { InMemoryEventStore } from '../../src/event-store';
import { runConformanceSuite } from './conformance';

runConformanceSuite('in-memory', () => Promise.resolve(new InMemoryEventStore()), { tortureSeeds: [1, 2, 3, 4, 5] });
