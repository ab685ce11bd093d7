import { InMemoryEventStore } from '../../src/event-store';
import { runHashChainSuite } from './hash-chain.conformance';

runHashChainSuite('in-memory', () => Promise.resolve(new InMemoryEventStore()));
