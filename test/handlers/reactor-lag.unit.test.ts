import { randomUUID } from 'node:crypto';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { defineReactor, ReactorRunner } from '../../src/handlers';

// `status()` reports how far behind a reactor is: events after its lowest finished position (every
// type counts) and the age of the first of its events still to handle.

test('a held reactor lags by the events after it; once through, by none', async () => {
  const store = new InMemoryEventStore();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const reactor = defineReactor({ name: 'held', filter: { eventTypes: ['Ordered'] }, handle: () => held });
  const runner = await ReactorRunner.start({ store, reactors: [reactor] });
  try {
    const append = (type: string) => store.appendToStream(`order-${randomUUID()}`, [{ id: randomUUID(), type, data: {} }]);
    await append('Ordered');
    await append('Ignored');
    const { position } = await append('Ordered');
    const [behind] = await runner.status();
    expect(behind).toMatchObject({ name: 'held', lagEvents: 3 });
    release();
    await runner.waitForPosition('held', position);
    const [through] = await runner.status();
    expect(through).toMatchObject({ lagEvents: 0, lagMs: 0 });
  } finally {
    release();
    await runner.stop();
  }
});
