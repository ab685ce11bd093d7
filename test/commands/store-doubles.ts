// Wrappers around a real store that make rare situations happen on demand: a competing writer, an
// answer lost after a successful append, reads counted. The store underneath is real; only the timing
// is arranged.
import { randomUUID } from 'node:crypto';
import type {
  AppendOptions,
  AppendResult,
  EventData,
  EventStoreReader,
  EventStoreWriter,
  ReadStreamOptions,
  RecordedEvent,
} from '../../src/event-store/event-store';

export type ReadWriteStore = EventStoreReader & EventStoreWriter;

function delegate(inner: ReadWriteStore): ReadWriteStore {
  return {
    readStream: (streamName, options) => inner.readStream(streamName, options),
    readAll: (options) => inner.readAll(options),
    readCorrelation: (correlationId) => inner.readCorrelation(correlationId),
    appendToStream: (streamName, events, options) => inner.appendToStream(streamName, events, options),
  };
}

/** Before each of the first `times` appends, another writer appends `competing` to the same stream. */
export function withCompetingWriter(inner: ReadWriteStore, times: number, competing: () => EventData[]): ReadWriteStore & { interruptions: number } {
  const store = {
    ...delegate(inner),
    interruptions: 0,
    async appendToStream(streamName: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult> {
      if (store.interruptions < times) {
        store.interruptions++;
        await inner.appendToStream(streamName, competing());
      }
      return inner.appendToStream(streamName, events, options);
    },
  };
  return store;
}

/** The first `times` appends succeed, but their answer never arrives: the caller sees a timeout. */
export function losingAnswers(inner: ReadWriteStore, times: number): ReadWriteStore & { lost: number } {
  const store = {
    ...delegate(inner),
    lost: 0,
    async appendToStream(streamName: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult> {
      const result = await inner.appendToStream(streamName, events, options);
      if (store.lost < times) {
        store.lost++;
        throw new Error('timeout: the connection dropped before the answer arrived');
      }
      return result;
    },
  };
  return store;
}

/** Records where every stream read started, to see whether a fold began at a snapshot. */
export function countingReads(inner: ReadWriteStore): ReadWriteStore & { reads: ReadStreamOptions[]; appends: number } {
  const store = {
    ...delegate(inner),
    reads: [] as ReadStreamOptions[],
    appends: 0,
    readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
      store.reads.push(options);
      return inner.readStream(streamName, options);
    },
    appendToStream(streamName: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult> {
      store.appends++;
      return inner.appendToStream(streamName, events, options);
    },
  };
  return store;
}

/** Every event of a stream, in order. */
export async function readAllOf(store: EventStoreReader, streamName: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const event of store.readStream(streamName)) events.push(event);
  return events;
}

/** An ItemAdded written by "someone else", as a competing writer would. */
export function foreignItemAdded(sku = 'coffee'): EventData[] {
  return [{ id: randomUUID(), type: 'ItemAdded', data: { sku, quantity: 1, unitPriceCents: 300 }, metadata: { schemaVersion: 2 } }];
}
