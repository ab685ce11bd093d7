import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import {
  InMemoryEventStore,
  InvalidArgumentError,
  readStreamForFold,
  type EventStoreReader,
  type JsonObject,
  type StreamFoldPage,
} from '../../src/event-store';
import { foldPagesFromReadStream, metadataPicker } from '../../src/event-store/fold-read';

const keys = ['schemaVersion', 'commandId'];
const pick = metadataPicker(keys);
const byParsing = (text: string): JsonObject => {
  const parsed = JSON.parse(text) as JsonObject;
  return Object.fromEntries(keys.filter((key) => Object.prototype.hasOwnProperty.call(parsed, key)).map((key) => [key, parsed[key]!]));
};

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('metadataPicker', () => {
  it.each([
    ['{}', {}],
    ['{"commandId":"c-1","schemaVersion":2,"time":"2026-01-01T00:00:00.000Z"}', { commandId: 'c-1', schemaVersion: 2 }],
    ['{ "commandId" : "c-1" ,\n\t"schemaVersion" : 2 }', { commandId: 'c-1', schemaVersion: 2 }],
    ['{"commandId":"first","commandId":"second"}', { commandId: 'second' }],
    ['{"nested":{"schemaVersion":9}}', {}],
    ['{"list":["commandId"],"schemaVersion":1}', { schemaVersion: 1 }],
    ['{"commandType":"commandId"}', {}],
    ['{"note":"a \\"commandId\\": \\"x\\"","commandId":"\\u0063"}', { commandId: 'c' }],
    ['{"schemaVersion":null,"commandId":"a,b}c"}', { schemaVersion: null, commandId: 'a,b}c' }],
    ['{"schemaVersion":-1.5e3}', { schemaVersion: -1500 }],
    ['{"schemaVersion":true}', { schemaVersion: true }],
  ])('picks from %s what JSON.parse would', (text, expected) => {
    expect(pick(text)).toEqual(expected);
    expect(pick(text)).toEqual(byParsing(text));
  });

  it('agrees with JSON.parse on any object, written compactly or with spaces', () => {
    const key = fc.constantFrom('commandId', 'schemaVersion', 'commandIdx', 'xcommandId', 'a"commandId', 'time', 'ü');
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue()), fc.boolean(), (object, spaced) => {
        const text = JSON.stringify(object, undefined, spaced ? 1 : undefined);
        expect(pick(text)).toEqual(byParsing(text));
      }),
      { numRuns: 500 },
    );
  });

  it('throws on text that is not JSON, as JSON.parse does', () => {
    expect(() => pick('{"commandId":')).toThrow(SyntaxError);
    expect(() => pick('{"schemaVersion":2x}')).toThrow(SyntaxError);
  });

  it('picks keys that JSON escapes, and nothing when no keys are asked for', () => {
    expect(metadataPicker(['a"b'])('{"a\\"b":1,"c":2}')).toEqual({ 'a"b': 1 });
    expect(metadataPicker([])('{"commandId":"c-1"}')).toEqual({});
  });
});

describe('readStreamForFold (the function)', () => {
  async function storeWith(count: number) {
    const store = new InMemoryEventStore();
    const events = Array.from({ length: count }, (_, index) => ({
      id: randomUUID(),
      type: 'Happened',
      data: { index },
      metadata: { commandId: `c-${index}`, schemaVersion: 1, other: 'x' },
    }));
    await store.appendToStream('s-1', events);
    return store;
  }

  it("uses the reader's own fold read when it has one", async () => {
    const store = await storeWith(3);
    let calls = 0;
    const reader: EventStoreReader = {
      readStream: () => {
        throw new Error('readStream must not be used');
      },
      readAll: (options) => store.readAll(options),
      readCorrelation: (id) => store.readCorrelation(id),
      readStreamForFold: (name, options) => {
        calls++;
        return store.readStreamForFold(name, options);
      },
    };
    const pages = await collect(readStreamForFold(reader, 's-1', { metadataKeys: ['commandId'] }));
    expect(calls).toBe(1);
    expect(pages.flatMap((page) => page.events.map((e) => e.metadata))).toEqual([{ commandId: 'c-0' }, { commandId: 'c-1' }, { commandId: 'c-2' }]);
  });

  it('falls back to readStream for a reader without it: pages of 1,000, the same as the store gives', async () => {
    const store = await storeWith(2_345);
    const reader: EventStoreReader = {
      readStream: (name, options) => store.readStream(name, options),
      readAll: (options) => store.readAll(options),
      readCorrelation: (id) => store.readCorrelation(id),
    };
    const fallback: StreamFoldPage[] = await collect(readStreamForFold(reader, 's-1', { fromRevision: 5n, metadataKeys: keys }));
    const native: StreamFoldPage[] = await collect(store.readStreamForFold('s-1', { fromRevision: 5n, metadataKeys: keys }));
    expect(fallback.map((page) => [page.fromRevision, page.events.length, page.last.revision])).toEqual([
      [5n, 1_000, 1_004n],
      [1_005n, 1_000, 2_004n],
      [2_005n, 340, 2_344n],
    ]);
    expect(fallback).toEqual(native);
    expect(await collect(foldPagesFromReadStream(reader, 'missing'))).toEqual([]);
    expect(() => foldPagesFromReadStream(reader, 's-1', { fromRevision: -3n })).toThrow(InvalidArgumentError);
  });
});
