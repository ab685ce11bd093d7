// The example of README.md's "How erasure works (crypto-shredding)" section, verbatim apart from imports
// (the docs import from 'eventfold') and the database path (a temp folder here).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { defineEvents, isRedacted, keyStoreFor, personal, protectPersonalData } from '../../src';
import { tempDir } from '../projections/support/temp-dir';

const dir = tempDir('eventfold-docs-personal-');
afterAll(() => dir.remove());

describe('README: how erasure works', () => {
  it('seals, reads back and forgets as the README says', async () => {
    const orderEvents = defineEvents(
      {
        OrderPlaced: z.object({
          orderId: z.string(),
          customerId: z.string(),
          customerName: personal(z.string()).optional(),
          deliveryAddress: personal(z.object({ street: z.string(), city: z.string() })).optional(),
        }),
      },
      { subjects: { OrderPlaced: (data) => data.customerId } },
    );

    const events = SqliteEventStore.open(dir.file('events.db'));
    const store = protectPersonalData(events, { events: [orderEvents], keys: await keyStoreFor(events) });
    try {
      await store.appendToStream('order-1', [
        { id: randomUUID(), type: 'OrderPlaced', data: { orderId: '1', customerId: 'c-42', customerName: 'Ada', deliveryAddress: { street: '1 Main St', city: 'Leeds' } } },
      ]);
      const receipt = await store.forgetSubject('c-42'); // destroys the key, appends SubjectForgotten
      expect(receipt.streamName).toBe('subject-c-42');

      for await (const recorded of store.readStream('order-1')) {
        const event = orderEvents.decode({ type: recorded.type, data: recorded.data, version: 1 });
        expect(isRedacted(event.data.customerName)).toBe(true);
        expect(isRedacted(event.data.deliveryAddress)).toBe(true);
        expect(event.data.customerId).toBe('c-42');
      }
    } finally {
      await store.close();
    }
  });
});
