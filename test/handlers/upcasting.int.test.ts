import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/backends/sqlite/sqlite-event-store';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { InvalidReactorError, ReactorRunner, defineReactor, defineWebhookReactor, parseDelivery, type Reactor } from '../../src/handlers';
import { currentLines, lineAddedUnversioned, lineAddedV1, orderLineEvents } from '../domain/versioned-order';
import { readBody, startSink } from './support/http-sink';
import { until } from './support/reactor-fixtures';

const SECRET = 'a-long-enough-webhook-secret';
const dir = mkdtempSync(join(tmpdir(), 'eventfold-upcasting-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A SQLite file holding two LineAdded events of the old shape (schema version 1, and none at all) and one of another type. */
async function storeWithV1Events(): Promise<SqliteEventStore> {
  const store = SqliteEventStore.open(join(dir, `${randomUUID()}.db`));
  cleanups.push(() => store.close());
  await store.appendToStream('order-1', [lineAddedV1('tea', 2), lineAddedUnversioned('jam', 5)]);
  await store.appendToStream('order-2', [{ id: randomUUID(), type: 'Unlisted', data: { qty: 1 } }]);
  return store;
}

async function run(store: SqliteEventStore, reactors: readonly Reactor[]): Promise<void> {
  const runner = await ReactorRunner.start({ store, reactors, checkpointIntervalMs: 5 });
  cleanups.push(() => runner.stop());
}

describe('reactors and webhooks see the current schema (SQLite file, real HTTP)', () => {
  it('hand a reactor with an events catalog v1 events upcast to v2', async () => {
    const store = await storeWithV1Events();
    const seen: { sku: string; quantity: number; unitPriceCents: number }[] = [];
    const versions: unknown[] = [];
    const reactor = defineReactor({
      name: 'lines',
      filter: { eventTypes: ['LineAdded'] },
      events: orderLineEvents,
      handle(event) {
        // Written against version 2: `quantity` and a price, typed by the catalog.
        if (event.type !== 'LineAdded') return;
        const { sku, quantity, unitPriceCents } = event.data;
        seen.push({ sku, quantity, unitPriceCents });
        versions.push(event.metadata.schemaVersion);
      },
    });
    await run(store, [reactor]);
    await until(() => seen.length === 2, 'both LineAdded events');
    expect([...seen].sort((a, b) => b.sku.localeCompare(a.sku))).toEqual(currentLines);
    expect(versions).toEqual([2, 2]);
  });

  it('refuses a reactor whose filtered event types its catalog does not know, with a typed error', () => {
    const define = () => defineReactor({ name: 'bad', filter: { eventTypes: ['LineAdded', 'Unlisted'] }, events: orderLineEvents, handle: () => undefined });
    expect(define).toThrow(InvalidReactorError);
  });

  it('deliver v1 events to a webhook upcast to v2, other types as recorded', async () => {
    const store = await storeWithV1Events();
    const delivered: RecordedEvent[] = [];
    const sink = await startSink(async (request, response) => {
      delivered.push(parseDelivery(await readBody(request)).event);
      response.end();
    });
    cleanups.push(() => sink.close());
    const hook = defineWebhookReactor({
      name: 'lines-hook',
      filter: { streamPrefixes: ['order-'] },
      url: sink.url,
      secret: SECRET,
      events: orderLineEvents,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 10 },
    });
    cleanups.push(() => hook.close());
    await run(store, [hook]);
    await until(() => delivered.length === 3, 'three deliveries');
    const lines = delivered.filter((event) => event.type === 'LineAdded');
    expect(lines.map((event) => event.data).sort((a, b) => String((b as { sku: string }).sku).localeCompare(String((a as { sku: string }).sku)))).toEqual(currentLines);
    expect(lines.map((event) => event.metadata.schemaVersion)).toEqual([2, 2]);
    expect(delivered.find((event) => event.type === 'Unlisted')?.data).toEqual({ qty: 1 });
  });
});
