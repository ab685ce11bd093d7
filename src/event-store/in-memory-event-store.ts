import type {
  AppendResult,
  Direction,
  EventFilter,
  EventMetadata,
  ExpectedRevision,
  JsonValue,
  RecordedEvent,
  StoreCapabilities,
} from './event-store';
import { DuplicateEventIdError } from './errors';
import { checkExpectedRevision, resolveRepeatedAppend } from './idempotency';
import { PagedEventStore, type PagedEventStoreOptions } from './paged-event-store';
import { Position, type FromPosition } from './position';
import { matchesFilter, type PreparedEvent } from './validation';
import { resolveListStreams, type ListStreamsOptions, type StoreAdmin, type StoreStatistics, type StreamSummary } from './store-admin';

/**
 * The event store in process memory: for unit tests and examples. Same contract as the durable
 * backends, nothing survives the process.
 *
 * @example
 * const store = new InMemoryEventStore();
 * await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
 */
export class InMemoryEventStore extends PagedEventStore implements StoreAdmin {
  readonly backend = 'memory' as const;
  readonly capabilities: StoreCapabilities = { durable: false, sequencePositions: true };
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();

  constructor(options: PagedEventStoreOptions = {}) {
    super(options, Number.POSITIVE_INFINITY);
  }

  protected appendPrepared(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    // A throw inside the executor becomes the rejection.
    return new Promise((resolve) => resolve(this.appendNow(streamName, events, expected)));
  }

  private appendNow(streamName: string, events: readonly PreparedEvent[], expected: ExpectedRevision): AppendResult {
    const stream = this.streams.get(streamName) ?? [];
    const current = BigInt(stream.length) - 1n;
    const ids = events.map((event) => event.id);
    const prior = this.byId.get(ids[0]!);
    if (prior) {
      const start = Number(prior.revision);
      const slots = prior.streamName === streamName ? stream.slice(start, start + ids.length) : [];
      return resolveRepeatedAppend(streamName, events, expected, prior, slots, current);
    }
    checkExpectedRevision(streamName, expected, current);
    const taken = events.find((event) => this.byId.has(event.id));
    if (taken) {
      const holder = this.byId.get(taken.id)!;
      throw new DuplicateEventIdError(taken.id, `stream "${holder.streamName}" holds it at revision ${holder.revision}`);
    }
    const recordedAt = new Date();
    const appended = events.map((event, index): RecordedEvent => {
      const sequence = BigInt(this.all.length + index + 1);
      return {
        id: event.id,
        type: event.type,
        streamName,
        revision: current + 1n + BigInt(index),
        position: Position.of(sequence, sequence),
        data: JSON.parse(event.data) as JsonValue,
        metadata: JSON.parse(event.metadata) as EventMetadata,
        recordedAt,
      };
    });
    for (const event of appended) {
      this.all.push(event);
      stream.push(event);
      this.byId.set(event.id, event);
    }
    this.streams.set(streamName, stream);
    const last = appended[appended.length - 1]!;
    return { revision: last.revision, position: last.position };
  }

  protected readStreamPage(
    streamName: string,
    from: bigint,
    direction: Direction,
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const stream = this.streams.get(streamName) ?? [];
    if (direction === 'forwards') return Promise.resolve(stream.slice(Number(from), Number(from) + limit));
    const end = from >= BigInt(stream.length) ? stream.length - 1 : Number(from);
    return Promise.resolve(stream.slice(Math.max(0, end - limit + 1), end + 1).reverse());
  }

  protected readAllPage(
    after: FromPosition,
    direction: Direction,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<readonly RecordedEvent[]> {
    const page: RecordedEvent[] = [];
    // Positions here are (n, n) with n the 1-based index into `all`.
    if (direction === 'forwards') {
      let index = after === 'start' ? 0 : after === 'end' ? this.all.length : Number(after.commit);
      for (; index < this.all.length && page.length < limit; index++) {
        const event = this.all[index]!;
        if (matchesFilter(filter, event.streamName, event.type)) page.push(event);
      }
    } else {
      let index = after === 'end' ? this.all.length - 1 : after === 'start' ? -1 : Number(after.commit) - 2;
      for (index = Math.min(index, this.all.length - 1); index >= 0 && page.length < limit; index--) {
        const event = this.all[index]!;
        if (matchesFilter(filter, event.streamName, event.type)) page.push(event);
      }
    }
    return Promise.resolve(page);
  }

  protected readCorrelationPage(
    correlationId: string,
    after: Position | 'start',
    limit: number,
  ): Promise<readonly RecordedEvent[]> {
    const page: RecordedEvent[] = [];
    for (let index = after === 'start' ? 0 : Number(after.commit); index < this.all.length && page.length < limit; index++) {
      const event = this.all[index]!;
      if (event.metadata.correlationId === correlationId) page.push(event);
    }
    return Promise.resolve(page);
  }

  protected streamRevision(streamName: string): Promise<bigint> {
    return Promise.resolve(BigInt(this.streams.get(streamName)?.length ?? 0) - 1n);
  }

  headPosition(): Promise<Position | undefined> {
    return Promise.resolve(this.all[this.all.length - 1]?.position);
  }

  /** Streams by name (the console); see {@link StoreAdmin}. Sorts the names: for tests and demos, not millions. */
  listStreams(options?: ListStreamsOptions): Promise<readonly StreamSummary[]> {
    // A throw inside the executor becomes the rejection, as on the other backends.
    return new Promise((resolve) => {
      this.assertOpen();
      const { prefix, after, limit } = resolveListStreams(options);
      const names = [...this.streams.keys()].filter((name) => name.startsWith(prefix) && name > after).sort();
      resolve(names.slice(0, limit).map((streamName) => ({ streamName, revision: BigInt(this.streams.get(streamName)!.length) - 1n })));
    });
  }

  statistics(): Promise<StoreStatistics> {
    this.assertOpen();
    return Promise.resolve({
      streams: this.streams.size,
      events: this.all.length,
      bytes: undefined,
      oldest: this.all[0]?.recordedAt,
      newest: this.all[this.all.length - 1]?.recordedAt,
    });
  }

  protected closeBackend(): Promise<void> {
    return Promise.resolve();
  }
}
