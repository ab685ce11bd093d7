import { InMemoryTimerStore } from '../../src/handlers';
import { timerStoreConformance } from './timer-store.conformance';

timerStoreConformance('memory', () => Promise.resolve(new InMemoryTimerStore()));
