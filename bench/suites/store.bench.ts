import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryEventStore, type EventData, type EventStore } from '../../src/event-store';
import { PostgresEventStore } from '../../src/backends/postgres';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { startPostgres } from '../../test/support/postgres-server';
import { throughput, type BenchContext } from '../harness';

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };
const newEvent = (): EventData => ({ id: randomUUID(), type: 'OrderPlaced', data: payload, metadata: { correlationId: 'c' } });

/** Appends and reads per backend; the same loops for each, so the figures compare. */
export async function run(context: BenchContext): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-bench-store-'));
  const postgres = await startPostgres();
  try {
    const backends: Array<[string, () => Promise<EventStore>]> = [
      ['memory', () => Promise.resolve(new InMemoryEventStore())],
      ['sqlite', () => Promise.resolve(SqliteEventStore.open(join(folder, 'store.db')))],
      ['postgres', () => PostgresEventStore.connect(postgres.url)],
    ];
    for (const [backend, open] of backends) {
      const store = await open();
      try {
        await measureBackend(context, backend, store);
      } finally {
        await store.close();
      }
    }
  } finally {
    await postgres.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function measureBackend(context: BenchContext, backend: string, store: EventStore): Promise<void> {
  const scale = context.quick ? 0.25 : 1;
  const maxMs = (context.quick ? 1_500 : 5_000);
  const run = `${backend}-${randomUUID().slice(0, 6)}`;

  context.progress(`${backend}: single-event appends, 1 writer`);
  const single = await throughput({ workers: 1, maxOperations: 20_000 * scale, maxMs }, (_w, i) =>
    store.appendToStream(`${run}-single-${i % 100}`, [newEvent()]),
  );
  context.record({ backend, metric: 'append_single_1w', value: single.perSecond, unit: 'events/s' });

  context.progress(`${backend}: single-event appends, 16 writers`);
  const concurrent = await throughput({ workers: 16, maxOperations: 200_000 * scale, maxMs }, (worker, i) =>
    store.appendToStream(`${run}-w${worker}-${i % 50}`, [newEvent()]),
  );
  context.record({ backend, metric: 'append_single_16w', value: concurrent.perSecond, unit: 'events/s' });

  context.progress(`${backend}: batches of 100`);
  const batch = await throughput({ workers: 1, maxOperations: 5_000 * scale, maxMs, unitsPerCall: 100 }, (_w, i) =>
    store.appendToStream(`${run}-batch-${i}`, Array.from({ length: 100 }, newEvent)),
  );
  context.record({ backend, metric: 'append_batch100', value: batch.perSecond, unit: 'events/s' });

  context.progress(`${backend}: read all`);
  let read = 0;
  const begin = performance.now();
  const readLimit = 500_000 * scale;
  for await (const _event of store.readAll({ maxCount: readLimit })) read++;
  const ms = performance.now() - begin;
  context.record({ backend, metric: 'read_all', value: (read / ms) * 1000, unit: 'events/s' });
}
