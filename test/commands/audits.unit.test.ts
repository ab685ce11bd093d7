import { eventTime, handleCommand, loadAt, readCorrelation, type CommandEnvironment } from '../../src/commands';
import { MalformedStreamNameError, ValidationError } from '../../src/domain';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { InMemoryEventStore } from '../../src/event-store/in-memory-event-store';
import { ArchiveUnavailableError, archiveStreams, openArchive, withArchives } from '../../src/event-store';
import { PassThrough } from 'node:stream';
import { rejection } from '../domain/caught';
import { cart, type CartCommand } from '../domain/shopping-cart';
import { readAllOf } from './store-doubles';

const start = Date.parse('2026-03-01T10:00:00.000Z');
const minutes = (n: number) => new Date(start + n * 60_000);

let store: InMemoryEventStore;
let environment: CommandEnvironment;
let tick: number;

beforeEach(() => {
  store = new InMemoryEventStore();
  tick = 0;
  // Each command happens one minute after the previous one.
  environment = { store, clock: () => minutes(tick++) };
});

afterEach(() => store.close());

const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt: minutes(0).toISOString() } };
const add = (sku: string): CartCommand => ({ type: 'AddItem', data: { sku, quantity: 1, unitPriceCents: 100 } });

async function buildHistory(): Promise<void> {
  for (const command of [open, add('tea'), add('cake'), { type: 'RemoveItem', data: { sku: 'tea' } } as CartCommand]) {
    await handleCommand(environment, cart, { streamName: 'cart-1', command });
  }
}

describe('loadAt', () => {
  beforeEach(buildHistory);

  it('gives the state as it was right after a revision', async () => {
    expect(await loadAt(store, cart, 'cart-1', { revision: -1n })).toMatchObject({ state: { status: 'empty' }, revision: -1n });
    const afterOne = await loadAt(store, cart, 'cart-1', { revision: 1n });
    expect(afterOne).toMatchObject({ revision: 1n, time: minutes(1), state: { status: 'open', lines: { tea: { quantity: 1, unitPriceCents: 100 } } } });
    const afterTwo = await loadAt(store, cart, 'cart-1', { revision: 2n });
    expect(Object.keys((afterTwo.state as { lines: object }).lines)).toEqual(['tea', 'cake']);
    expect(afterTwo.position!.equals((await readAllOf(store, 'cart-1'))[2]!.position)).toBe(true);
  });

  it('gives the current state and its real revision when asked past the end', async () => {
    expect(await loadAt(store, cart, 'cart-1', { revision: 100n })).toMatchObject({ revision: 3n, state: { lines: { cake: {} } } });
  });

  it('gives the state as it was at a moment, from the times the clock stamped', async () => {
    expect(await loadAt(store, cart, 'cart-1', { time: minutes(-1) })).toMatchObject({ revision: -1n, time: undefined });
    expect(await loadAt(store, cart, 'cart-1', { time: minutes(1) })).toMatchObject({ revision: 1n, time: minutes(1) });
    // Between two events: the earlier one is the last folded.
    expect(await loadAt(store, cart, 'cart-1', { time: new Date(minutes(2).getTime() + 30_000) })).toMatchObject({ revision: 2n });
    expect(await loadAt(store, cart, 'cart-1', { time: minutes(60) })).toMatchObject({ revision: 3n });
  });

  it('still sees a soft-deleted or truncated stream: history stays auditable', async () => {
    await store.setStreamMetadata('cart-1', { truncateBefore: 2n });
    expect(await loadAt(store, cart, 'cart-1', { revision: 1n })).toMatchObject({ revision: 1n, state: { status: 'open' } });
    await store.deleteStream('cart-1');
    expect(await loadAt(store, cart, 'cart-1', { time: minutes(60) })).toMatchObject({ revision: 3n, state: { lines: { cake: {} } } });
  });

  it('folds an archived stream back from its archive', async () => {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    await archiveStreams(store, { streams: ['cart-1'] }, out, 'carts.ndjson.gz');
    // The payloads left the store with the archiving: the store alone has nothing to fold.
    expect(await loadAt(store, cart, 'cart-1', { revision: 2n })).toMatchObject({ revision: -1n });
    const archive = openArchive(Buffer.concat(chunks));
    const afterTwo = await loadAt(archive, cart, 'cart-1', { revision: 2n });
    expect(afterTwo).toMatchObject({ revision: 2n, time: minutes(2) });
    expect(Object.keys((afterTwo.state as { lines: object }).lines)).toEqual(['tea', 'cake']);
    // Through the store with its archives: the archived events come back, checked against their stubs.
    const shelf = { open: (name: string, sha256: string) => Promise.resolve(name === 'carts.ndjson.gz' && sha256 === archive.sha256 ? archive : undefined) };
    expect(await loadAt(withArchives(store, shelf), cart, 'cart-1', { revision: 2n })).toMatchObject({ revision: 2n, time: minutes(2) });
    expect(await loadAt(withArchives(store, shelf), cart, 'cart-1', { time: minutes(60) })).toMatchObject({ revision: 3n });
    const elsewhere = { open: () => Promise.resolve(undefined) };
    await expect(loadAt(withArchives(store, elsewhere), cart, 'cart-1', { revision: 0n })).rejects.toBeInstanceOf(ArchiveUnavailableError);
  });

  it('gives the initial state for a stream that does not exist', async () => {
    expect(await loadAt(store, cart, 'cart-none', { revision: 5n })).toEqual({ state: { status: 'empty' }, revision: -1n, position: undefined, time: undefined });
  });

  it('rejects a bad point in time or stream name', async () => {
    expect(await rejection(() => loadAt(store, cart, 'cart-1', { revision: -2n }))).toBeInstanceOf(ValidationError);
    expect(await rejection(() => loadAt(store, cart, 'cart-1', { time: new Date('nope') }))).toBeInstanceOf(ValidationError);
    expect(await rejection(() => loadAt(store, cart, 'cart-1', {} as never))).toBeInstanceOf(ValidationError);
    expect(await rejection(() => loadAt(store, cart, 'order-1', { revision: 0n }))).toBeInstanceOf(MalformedStreamNameError);
  });
});

describe('eventTime', () => {
  it('prefers the stamped time and falls back to when the store recorded the event', () => {
    const recordedAt = new Date('2026-01-01T00:00:00.000Z');
    expect(eventTime({ metadata: { time: '2026-02-02T00:00:00.000Z' }, recordedAt })).toEqual(new Date('2026-02-02T00:00:00.000Z'));
    expect(eventTime({ metadata: {}, recordedAt })).toBe(recordedAt);
    expect(eventTime({ metadata: { time: 'not a time' }, recordedAt })).toBe(recordedAt);
  });
});

describe('readCorrelation', () => {
  async function collect(iterable: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
    const events: RecordedEvent[] = [];
    for await (const event of iterable) events.push(event);
    return events;
  }

  it('gives every event of one workflow across streams, in order', async () => {
    const opened = await handleCommand(environment, cart, { streamName: 'cart-1', command: open, commandId: 'flow-1' });
    await handleCommand(environment, cart, { streamName: 'cart-other', command: open });
    const [trigger] = await readAllOf(store, 'cart-1');
    // A reactor reacting to the first cart opens a second one in the same workflow.
    await handleCommand(environment, cart, { streamName: 'cart-2', command: open, causedBy: trigger! });
    await handleCommand(environment, cart, { streamName: 'cart-1', command: add('tea'), correlationId: opened.correlationId });

    const events = await collect(readCorrelation(store, opened.correlationId));
    expect(events.map((event) => [event.streamName, event.type])).toEqual([
      ['cart-1', 'CartOpened'],
      ['cart-2', 'CartOpened'],
      ['cart-1', 'ItemAdded'],
    ]);
    expect(events[1]!.metadata.causationId).toBe(trigger!.id);
  });

  it('upcasts the events of known aggregates and passes others through as stored', async () => {
    await store.appendToStream('cart-1', [
      { id: '00000000-0000-4000-8000-000000000001', type: 'ItemAdded', data: { sku: 'tea', quantity: 2 }, metadata: { correlationId: 'audit-1' } },
    ]);
    await store.appendToStream('billing-1', [
      { id: '00000000-0000-4000-8000-000000000002', type: 'Invoiced', data: { cents: 5 }, metadata: { correlationId: 'audit-1' } },
    ]);
    const upcast = await collect(readCorrelation(store, 'audit-1', [cart]));
    expect(upcast.map((event) => event.data)).toEqual([{ sku: 'tea', quantity: 2, unitPriceCents: 0 }, { cents: 5 }]);
    const raw = await collect(readCorrelation(store, 'audit-1'));
    expect(raw[0]!.data).toEqual({ sku: 'tea', quantity: 2 });
  });
});
