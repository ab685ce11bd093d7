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
import { archivedBeforeOf, lifecycleHash, type LifecycleAction, type LifecycleRecord } from './stream-lifecycle';
import { GENESIS_HASH, batchHash, chainEvents, type ChainBatch, type ChainBatchHead, type ChainSnapshot, type ChainedEvent, type HashChainedStore } from './hash-chain';
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
export class InMemoryEventStore extends PagedEventStore implements StoreAdmin, HashChainedStore {
  readonly backend = 'memory' as const;
  readonly capabilities: StoreCapabilities = { durable: false, sequencePositions: true };
  private readonly all: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();
  /** The chain: each event of `all` as stored (text and hash), and the committed batches. */
  private readonly stored: StoredEvent[] = [];
  private readonly batches: StoredBatch[] = [];
  private readonly lifecycle: LifecycleRecord[] = [];
  private readonly streamMetadata = new Map<string, string>();
  /** How many of each stream's first events are archived (a stub each); archiving always takes a prefix. */
  private readonly archivedCount = new Map<string, number>();

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
    const streamTip = stream.length === 0 ? GENESIS_HASH : this.stored[Number(stream[stream.length - 1]!.position.commit) - 1]!.hash;
    const hashes = chainEvents(streamTip, streamName, current + 1n, events);
    const previousBatch = this.batches[this.batches.length - 1]?.hash ?? GENESIS_HASH;
    const batch = BigInt(this.batches.length + 1);
    this.batches.push({ batch, first: this.all.length, count: events.length, hash: batchHash(previousBatch, batch, hashes) });
    events.forEach((event, index) => this.stored.push({ data: event.data, metadata: event.metadata, hash: hashes[index]! }));
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
    // Archived events (a prefix of the stream) are stubs: reads skip them.
    const floor = this.archivedCount.get(streamName) ?? 0;
    if (direction === 'forwards') {
      const start = Math.max(Number(from), floor);
      return Promise.resolve(stream.slice(start, start + limit));
    }
    const end = from >= BigInt(stream.length) ? stream.length - 1 : Number(from);
    return Promise.resolve(end < floor ? [] : stream.slice(Math.max(floor, end - limit + 1), end + 1).reverse());
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
        if (this.stored[index]!.archivedBy === undefined && matchesFilter(filter, event.streamName, event.type)) page.push(event);
      }
    } else {
      let index = after === 'end' ? this.all.length - 1 : after === 'start' ? -1 : Number(after.commit) - 2;
      for (index = Math.min(index, this.all.length - 1); index >= 0 && page.length < limit; index--) {
        const event = this.all[index]!;
        if (this.stored[index]!.archivedBy === undefined && matchesFilter(filter, event.streamName, event.type)) page.push(event);
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
      if (this.stored[index]!.archivedBy === undefined && event.metadata.correlationId === correlationId) page.push(event);
    }
    return Promise.resolve(page);
  }

  protected streamRevision(streamName: string): Promise<bigint> {
    return Promise.resolve(BigInt(this.streams.get(streamName)?.length ?? 0) - 1n);
  }

  /** The chain as it stands now; appends made later are not part of the snapshot. */
  openChainSnapshot(): Promise<ChainSnapshot> {
    this.assertOpen();
    const eventCount = this.all.length;
    const batchCount = this.batches.length;
    const lifecycleCount = this.lifecycle.length;
    const chained = (index: number): ChainedEvent => {
      const event = this.all[index]!;
      const stored = this.stored[index]!;
      return { ...event, data: stored.data, metadata: stored.metadata, hash: stored.hash, ...(stored.archivedBy !== undefined ? { archivedBy: stored.archivedBy } : {}) };
    };
    const toBatch = (batch: StoredBatch): ChainBatch => ({
      batch: batch.batch,
      eventCount: batch.count,
      hash: batch.hash,
      events: Array.from({ length: batch.count }, (_, offset) => chained(batch.first + offset)),
    });
    const streamEvents = (streamName: string): readonly RecordedEvent[] =>
      (this.streams.get(streamName) ?? []).filter((event) => Number(event.position.commit) <= eventCount);
    return Promise.resolve({
      readBatches: (after, limit) => Promise.resolve(this.batches.slice(Number(after), Math.min(batchCount, Number(after) + limit)).map(toBatch)),
      readStreamHeads: (after, limit) =>
        Promise.resolve(
          [...this.streams.keys()]
            .filter((name) => after === undefined || name > after)
            .sort()
            .flatMap((streamName) => {
              const events = streamEvents(streamName);
              return events.length === 0 ? [] : [{ streamName, revision: events[events.length - 1]!.revision }];
            })
            .slice(0, limit),
        ),
      readStreamHead: (streamName) => {
        const events = streamEvents(streamName);
        return Promise.resolve(events.length === 0 ? undefined : events[events.length - 1]!.revision);
      },
      readStreamEvents: (streamName, from, limit) =>
        Promise.resolve(
          streamEvents(streamName)
            .slice(Number(from), Number(from) + limit)
            .map((event) => chained(Number(event.position.commit) - 1)),
        ),
      countEvents: () => Promise.resolve(BigInt(eventCount)),
      readPendingBatches: () => Promise.resolve([]),
      readChainHead: () => Promise.resolve(batchCount === 0 ? undefined : headOf(this.batches[batchCount - 1]!)),
      readBatchHead: (batch) => Promise.resolve(batch >= 1n && batch <= BigInt(batchCount) ? headOf(this.batches[Number(batch) - 1]!) : undefined),
      // Every append writes its batch in the same step: nothing here is ever outside the chain.
      findUnchainedEvent: () => Promise.resolve(undefined),
      readBatchesOfStream: (streamName, after, limit) => {
        const holding = this.batches
          .slice(Number(after), batchCount)
          .filter((batch) => this.all.slice(batch.first, batch.first + batch.count).some((event) => event.streamName === streamName));
        return Promise.resolve(holding.slice(0, limit).map(toBatch));
      },
      readLifecycle: (after, limit) => Promise.resolve(this.lifecycle.slice(Number(after), Math.min(lifecycleCount, Number(after) + limit))),
      close: () => Promise.resolve(),
    });
  }

  protected readStreamMetadataText(streamName: string): Promise<string | undefined> {
    return Promise.resolve(this.streamMetadata.get(streamName));
  }

  protected recordLifecycle(
    streamName: string,
    action: LifecycleAction,
    next: (current: string | undefined, revision: bigint) => string,
  ): Promise<void> {
    return new Promise((resolve) => {
      const metadata = next(this.streamMetadata.get(streamName), BigInt(this.streams.get(streamName)?.length ?? 0) - 1n);
      const recordedAt = new Date().toISOString();
      const previous = this.lifecycle[this.lifecycle.length - 1]?.hash ?? GENESIS_HASH;
      const fields = { streamName, action, metadata, recordedAt };
      const sequence = BigInt(this.lifecycle.length + 1);
      this.lifecycle.push({ sequence, ...fields, hash: lifecycleHash(previous, fields) });
      this.streamMetadata.set(streamName, metadata);
      const archivedBefore = archivedBeforeOf(action, metadata);
      if (archivedBefore !== undefined) this.removeArchivedPayloads(streamName, Number(archivedBefore), sequence);
      resolve();
    });
  }

  /** Leaves a stub of each event before `archivedBefore`: its hash and place, no data or metadata. */
  private removeArchivedPayloads(streamName: string, archivedBefore: number, sequence: bigint): void {
    const stream = this.streams.get(streamName) ?? [];
    for (let revision = this.archivedCount.get(streamName) ?? 0; revision < archivedBefore; revision++) {
      const index = Number(stream[revision]!.position.commit) - 1;
      const stub: RecordedEvent = { ...this.all[index]!, data: null, metadata: {} };
      this.all[index] = stub;
      stream[revision] = stub;
      this.byId.set(stub.id, stub);
      this.stored[index] = { data: '', metadata: '', hash: this.stored[index]!.hash, archivedBy: sequence };
    }
    this.archivedCount.set(streamName, Math.max(archivedBefore, this.archivedCount.get(streamName) ?? 0));
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

interface StoredEvent {
  readonly data: string;
  readonly metadata: string;
  readonly hash: Buffer;
  /** The lifecycle record that archived it (its payload is then gone). */
  readonly archivedBy?: bigint;
}

function headOf(batch: StoredBatch): ChainBatchHead {
  return { batch: batch.batch, eventCount: batch.count, hash: batch.hash };
}

interface StoredBatch {
  readonly batch: bigint;
  /** Index into `all` of the batch's first event. */
  readonly first: number;
  readonly count: number;
  readonly hash: Buffer;
}
