import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { SqliteEventStore, SqliteKeyStore } from '../../src/backends/sqlite';
import { defineEvents, personal } from '../../src/domain';
import { InMemoryEventStore, type EventData, type EventStore } from '../../src/event-store';
import { InMemoryKeyStore, protectPersonalData, type KeyStore } from '../../src/personal-data';
import { throughput, type BenchContext } from '../harness';

/** The reference app's OrderPlaced: two personal fields of the customer. */
const events = defineEvents(
  {
    OrderPlaced: z.object({
      orderId: z.string(),
      customerId: z.string(),
      items: z.array(z.object({ menuItemId: z.string(), quantity: z.number() })),
      customerName: personal(z.string()),
      deliveryAddress: personal(z.string()),
    }),
  },
  { subjects: { OrderPlaced: (data) => data.customerId } },
);

const CUSTOMERS = 100;
const newEvent = (i: number): EventData => ({
  id: randomUUID(),
  type: 'OrderPlaced',
  data: {
    orderId: `o-${i}`,
    customerId: `c-${i % CUSTOMERS}`,
    items: [{ menuItemId: 'm-1', quantity: 2 }],
    customerName: 'Ada Lovelace',
    deliveryAddress: '12 St James Square, London',
  },
  metadata: { correlationId: 'c', commandHash: 'f'.repeat(64) },
});

/**
 * The cost of crypto-shredding, side by side in one run: the same appends and reads on a plain store and
 * through `protectPersonalData` (two AES-256-GCM fields and the fingerprint per event, keys of 100 customers).
 */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-personal-'));
  try {
    const backends: Array<[string, (name: string) => { store: EventStore; keys: () => KeyStore }]> = [
      ['memory', () => ({ store: new InMemoryEventStore(), keys: () => new InMemoryKeyStore() })],
      [
        'sqlite',
        (name) => {
          const store = SqliteEventStore.open(join(folder, `${name}.db`));
          return { store, keys: () => new SqliteKeyStore(store.database) };
        },
      ],
    ];
    for (const [backend, open] of backends) {
      for (const mode of ['plain', 'sealed'] as const) {
        const { store: inner, keys } = open(`${backend}-${mode}`);
        const store = mode === 'plain' ? inner : protectPersonalData(inner, { events: [events], keys: keys() });
        try {
          await measure(context, `${backend}`, mode, store);
        } finally {
          await store.close();
        }
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function measure(context: BenchContext, backend: string, mode: 'plain' | 'sealed', store: EventStore): Promise<void> {
  const scale = context.quick ? 0.25 : 1;
  const maxMs = context.quick ? 1_500 : 5_000;

  context.progress(`${backend} ${mode}: single-event appends, 1 writer`);
  const single = await throughput({ workers: 1, maxOperations: 20_000 * scale, maxMs }, (_w, i) => store.appendToStream(`order-s${i}`, [newEvent(i)]));
  context.record({ backend, metric: `append_single_1w_${mode}`, value: single.perSecond, unit: 'events/s' });

  context.progress(`${backend} ${mode}: batches of 100`);
  const batch = await throughput({ workers: 1, maxOperations: 2_000 * scale, maxMs, unitsPerCall: 100 }, (_w, i) =>
    store.appendToStream(`order-b${i}`, Array.from({ length: 100 }, (_, j) => newEvent(i * 100 + j))),
  );
  context.record({ backend, metric: `append_batch100_${mode}`, value: batch.perSecond, unit: 'events/s' });

  context.progress(`${backend} ${mode}: read all`);
  let read = 0;
  const begin = performance.now();
  for await (const _event of store.readAll({ maxCount: 200_000 * scale })) read++;
  context.record({ backend, metric: `read_all_${mode}`, value: (read / (performance.now() - begin)) * 1000, unit: 'events/s' });
}
