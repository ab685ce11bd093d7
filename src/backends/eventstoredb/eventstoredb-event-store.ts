import type * as Esdb from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  EventStoreDBClient,
  Filter,
  ReadRevision,
  ResolvedEvent,
  StreamingRead,
} from '@eventstore/db-client';
import { EventStoreDbAppender } from './eventstoredb-append';
import { ABORTED, ClientStream } from './eventstoredb-client-stream';
import { toChainEvent, userMetadataOf } from './eventstoredb-chain';
import {
  isSystemEvent,
  redactConnectionString,
  toEsdbFilterSpec,
  toEsdbReadPosition,
  toPosition,
  toRecordedEvent,
} from './eventstoredb-mapping';
import {
  allStreamSteps,
  EventStoreDbSubscription,
  markCheckpoint,
  streamSteps,
  watchSubscription,
  type SubscriptionPlan,
} from './eventstoredb-subscription';
import { validateStreamMetadata, type StreamLifecycleHost, type StreamMetadata, type SystemMetadataKey } from '../../event-store/stream-lifecycle';
import {
  EventStoreError,
  InvalidArgumentError,
  InvalidConnectionStringError,
  StoreClosedError,
  StoreUnavailableError,
  TamperedStreamError,
} from '../../event-store/errors';
import {
  DEFAULT_LIMITS,
  type AppendOptions,
  type AppendResult,
  type Direction,
  type EventData,
  type EventFilter,
  type EventStore,
  type EventStoreLimits,
  type ReadAllOptions,
  type ReadStreamForFoldOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type StreamFoldPage,
  type SubscribeToAllOptions,
  type SubscribeToStreamOptions,
  type Subscription,
  type StoreCapabilities,
} from '../../event-store/event-store';
import { foldPagesFromReadStream } from '../../event-store/fold-read';
import { StreamChainCheck, type StreamChainEvent, type StreamChainedStore } from '../../event-store/stream-chain';
import type { ChainBreak } from '../../event-store/verify-store';
import type { PagedEventStoreOptions } from '../../event-store/paged-event-store';
import { Position, type FromPosition } from '../../event-store/position';
import {
  matchesFilter,
  prepareEvents,
  validateDirection,
  validateExpectedRevision,
  validateFilter,
  validateFromPosition,
  validateFromRevision,
  validateMaxCount,
  validateStreamName,
} from '../../event-store/validation';
import { withTimeout } from '../../internal/delay';

type EsdbModule = typeof Esdb;

/** How long `connect` waits for the server's first answer; the client's own default deadline. */
const CONNECT_TIMEOUT_MS = 10_000;

/** What `verifyStore` cannot prove on EventStoreDB, for its report (and the README's auditors section). */
const CHAIN_LIMITS: readonly string[] = [
  'EventStoreDB keeps no $all chain: a whole stream deleted, the log truncated, or streams reordered in $all is not detected',
  "an event removed from the end of a stream, or a stream whose hashes were all recomputed after an edit, is not detected: nothing outside the stream records its head",
  'events the server hides (soft delete, maxCount, maxAge, truncateBefore) are not checked; the first event it shows is checked on its own hash',
];

/**
 * The event store on EventStoreDB (KurrentDB), the production store for clusters with quorum replication.
 * It speaks gRPC through `@eventstore/db-client` and needs EventStoreDB 22.10 or later; from 23.10 the
 * server itself tells subscriptions when they are live.
 *
 * Of the options only `limits` applies: reads stream with gRPC flow control rather than in pages, and
 * subscriptions are pushed by the server rather than polled.
 *
 * @example
 * const store = await EventStoreDbEventStore.connect('esdb://localhost:2113?tls=false');
 * const { position } = await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }], {
 *   expectedRevision: 'no_stream',
 * });
 * for await (const message of store.subscribeToAll({ fromPosition: position })) console.log(message.kind);
 */
export class EventStoreDbEventStore implements EventStore, StreamLifecycleHost, StreamChainedStore {
  readonly backend = 'eventstoredb' as const;
  readonly capabilities: StoreCapabilities = { durable: true, sequencePositions: false };
  private readonly limits: EventStoreLimits;
  /** Fires on close, so that reads waiting on the server end at once with StoreClosedError. */
  private readonly abort = new AbortController();
  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  private closing: Promise<void> | undefined;
  private readonly appender: EventStoreDbAppender;

  private constructor(
    private readonly esdb: EsdbModule,
    private readonly client: EventStoreDBClient,
    options: PagedEventStoreOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.appender = new EventStoreDbAppender({
      esdb,
      client,
      scan: <Item, Result>(open: () => StreamingRead<Item>, select: (item: Item) => Result | undefined, maxCount?: number) =>
        this.scan(open, select, maxCount),
      toStoreError: (error: unknown) => this.toStoreError(error),
    });
  }

  /**
   * Connects and checks that the server answers (and lets this user read `$all`).
   *
   * @example
   * const store = await EventStoreDbEventStore.connect('esdb+discover://admin:changeit@cluster.local:2113');
   * @throws InvalidConnectionStringError when the client cannot parse `url`.
   * @throws StoreUnavailableError when the server does not answer within 10 s or refuses the read.
   */
  static async connect(url: string, options: PagedEventStoreOptions = {}): Promise<EventStoreDbEventStore> {
    const esdb = loadClientModule();
    let client: EventStoreDBClient;
    try {
      client = esdb.EventStoreDBClient.connectionString(url);
    } catch (error) {
      throw new InvalidConnectionStringError(
        redactConnectionString(`malformed EventStoreDB connection string ${JSON.stringify(url)}: ${messageOf(error)}`),
      );
    }
    const store = EventStoreDbEventStore.onClient(client, options, esdb);
    try {
      await store.probe(url);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /**
   * A store on a client made elsewhere, without probing it. Not part of the package's entry point: the
   * tests run the adapter on an in-process stand-in for the server through it.
   *
   * @internal
   */
  static onClient(client: EventStoreDBClient, options: PagedEventStoreOptions = {}, esdb: EsdbModule = loadClientModule()): EventStoreDbEventStore {
    return new EventStoreDbEventStore(esdb, client, options);
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  /**
   * Appends with each event's hash in its metadata (see eventstoredb-chain.ts). The hash covers the
   * event's revision and its predecessor's hash, so every write is made at an exact revision: the head is
   * read first (one backwards read of one event), and ESDB refuses the write if the stream moved on since.
   * A caller's exact revision is kept as it is; `any`, `stream_exists` and `no_stream` re-read the head
   * and try again, a bounded number of times (see eventstoredb-append.ts).
   */
  async appendToStream(
    streamName: string,
    events: readonly EventData[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    this.assertOpen();
    validateStreamName(streamName);
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(events, this.limits);
    const metadata = userMetadataOf(prepared);
    return this.appender.append(streamName, prepared, metadata, expected);
  }

  /**
   * EventStoreDB's own stream metadata (recorded by the server in the `$$<stream>` metadata stream, which
   * is its lifecycle record); reads honour it on the server.
   */
  async setStreamMetadata(streamName: string, metadata: Omit<StreamMetadata, SystemMetadataKey>): Promise<void> {
    this.assertOpen();
    validateStreamName(streamName);
    const valid = validateStreamMetadata(metadata);
    try {
      await this.client.setStreamMetadata(streamName, {
        ...(valid.maxCount !== undefined ? { maxCount: valid.maxCount } : {}),
        ...(valid.maxAge !== undefined ? { maxAge: valid.maxAge } : {}),
        ...(valid.truncateBefore !== undefined ? { truncateBefore: Number(valid.truncateBefore) } : {}),
      });
    } catch (error) {
      throw this.toStoreError(error);
    }
  }

  async getStreamMetadata(streamName: string): Promise<StreamMetadata> {
    this.assertOpen();
    validateStreamName(streamName);
    let metadata: Esdb.StreamMetadata | undefined;
    try {
      metadata = (await this.client.getStreamMetadata(streamName)).metadata;
    } catch (error) {
      throw this.toStoreError(error);
    }
    const truncateBefore = metadata?.truncateBefore;
    return {
      ...(metadata?.maxCount !== undefined ? { maxCount: metadata.maxCount } : {}),
      ...(metadata?.maxAge !== undefined ? { maxAge: metadata.maxAge } : {}),
      ...(typeof truncateBefore === 'number' ? { truncateBefore: BigInt(truncateBefore) } : {}),
    };
  }

  /** EventStoreDB's soft delete: the server hides the stream until it is appended to again. */
  async deleteStream(streamName: string): Promise<void> {
    this.assertOpen();
    validateStreamName(streamName);
    let exists = false;
    for await (const _event of this.readStream(streamName, { direction: 'backwards', maxCount: 1 })) exists = true;
    if (!exists) throw new InvalidArgumentError(`stream "${streamName}" does not exist, so it cannot be deleted`);
    try {
      await this.client.deleteStream(streamName);
    } catch (error) {
      throw this.toStoreError(error);
    }
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    validateStreamName(streamName);
    const direction = validateDirection(options.direction);
    const from = validateFromRevision(options.fromRevision, direction === 'forwards' ? 'start' : 'end');
    const maxCount = validateMaxCount(options.maxCount);
    if ((direction === 'forwards' && from === 'end') || (direction === 'backwards' && from === 'start')) {
      return this.nothing();
    }
    return { [Symbol.asyncIterator]: () => this.readStreamFrom(streamName, direction, from, maxCount) };
  }

  /** Pages built from `readStream`: the client decodes every event in full anyway. */
  readStreamForFold(streamName: string, options: ReadStreamForFoldOptions = {}): AsyncIterable<StreamFoldPage> {
    this.assertOpen();
    validateStreamName(streamName);
    return foldPagesFromReadStream(this, streamName, options);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    const direction = validateDirection(options.direction);
    const from = validateFromPosition(options.fromPosition, direction === 'forwards' ? 'start' : 'end');
    const maxCount = validateMaxCount(options.maxCount);
    const filter = validateFilter(options.filter);
    if ((direction === 'forwards' && from === 'end') || (direction === 'backwards' && from === 'start')) {
      return this.nothing();
    }
    if (filter && direction === 'forwards') {
      return { [Symbol.asyncIterator]: () => this.readAllFiltered(from, filter, maxCount) };
    }
    const after = from instanceof Position ? from : undefined;
    // This client version cannot filter a read of $all on the server, so a backwards filtered read drops
    // what it does not want here, and counts after that.
    return this.scan(
      () => this.client.readAll({ direction, fromPosition: toEsdbReadPosition(from) }),
      (resolved: AllStreamResolvedEvent) => {
        const record = resolved.event;
        if (!record) return undefined;
        const position = toPosition(record.position);
        // The contract's starting position is exclusive (a checkpoint already handled); ESDB may include it.
        if (after && (direction === 'forwards' ? !position.isAfter(after) : !position.isBefore(after))) return undefined;
        if (!matchesFilter(filter, record.streamId, record.type)) return undefined;
        return toRecordedEvent(record);
      },
      maxCount,
    );
  }

  readCorrelation(correlationId: string): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    if (typeof correlationId !== 'string' || correlationId.length === 0) {
      throw new InvalidArgumentError('correlationId must be a non-empty string');
    }
    // A scan of all of $all, checking metadata in process. ESDB can index correlation ids itself (the
    // $by_correlation_id system projection writes `$bc-<id>` streams), but that projection is off by
    // default and needs an administrator to enable; the scan works on every server, for audits that
    // can afford reading the whole log.
    return this.scan(
      () => this.client.readAll({ direction: 'forwards', fromPosition: 'start' }),
      (resolved: AllStreamResolvedEvent) => {
        const event = resolved.event ? toRecordedEvent(resolved.event) : undefined;
        return event?.metadata.correlationId === correlationId ? event : undefined;
      },
    );
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertOpen();
    const from = validateFromPosition(options.fromPosition, 'start');
    const filter = validateFilter(options.filter);
    return this.track(async (): Promise<SubscriptionPlan> => {
      const head = from === 'end' ? undefined : await this.headPosition();
      const subscription = this.client.subscribeToAll({
        fromPosition: toEsdbReadPosition(from),
        filter: this.serverFilter(filter),
      });
      return { stream: watchSubscription(subscription), ...allStreamSteps(from, head, filter) };
    });
  }

  subscribeToStream(streamName: string, options: SubscribeToStreamOptions = {}): Subscription {
    this.assertOpen();
    validateStreamName(streamName);
    const from = validateFromRevision(options.fromRevision, 'start');
    return this.track(async (): Promise<SubscriptionPlan> => {
      const head = from === 'end' ? -1n : await this.streamRevision(streamName);
      const subscription = this.client.subscribeToStream(streamName, { fromRevision: from });
      return { stream: watchSubscription(subscription), ...streamSteps(from, head) };
    });
  }

  async headPosition(): Promise<Position | undefined> {
    this.assertOpen();
    // ESDB keeps writing its own events (statistics every few seconds), so the last event of $all is
    // often not an application event; read back to the last one that is.
    const positions = this.scan(
      () => this.client.readAll({ direction: 'backwards', fromPosition: 'end' }),
      (resolved: AllStreamResolvedEvent) =>
        resolved.event && !isSystemEvent(resolved.event.streamId, resolved.event.type)
          ? toPosition(resolved.event.position)
          : undefined,
      1,
    );
    for await (const position of positions) return position;
    return undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
      await this.client.dispose();
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
  }

  /**
   * A filtered forward read of $all, as a filtered catch-up subscription that stops at the head seen when
   * it starts: this client version can filter only subscriptions on the server, and filtering in process
   * would pull all of $all through gRPC for a few matching events.
   */
  private async *readAllFiltered(from: FromPosition, filter: EventFilter, maxCount: number): AsyncGenerator<RecordedEvent> {
    if (maxCount <= 0) return;
    const steps = allStreamSteps(from, await this.headPosition(), filter);
    if (steps.caughtUpAtStart) return;
    this.assertOpen();
    const subscription = this.client.subscribeToAll({
      fromPosition: toEsdbReadPosition(from),
      filter: this.serverFilter(filter),
    });
    const stream = watchSubscription(subscription, this.abort.signal);
    let delivered = 0;
    try {
      for (;;) {
        const next = await stream.next();
        if (next === ABORTED) throw new StoreClosedError();
        if (next.done) throw new StoreUnavailableError('EventStoreDB ended a read of $all early');
        const { event, reachedHead } = steps.accept(next.value);
        if (event) {
          yield event;
          if (++delivered >= maxCount) return;
        }
        if (reachedHead) return;
      }
    } catch (error) {
      throw this.toStoreError(error);
    } finally {
      await stream.stop();
    }
  }

  private async *readStreamFrom(
    streamName: string,
    direction: Direction,
    from: ReadRevision,
    maxCount: number,
  ): AsyncGenerator<RecordedEvent> {
    let fromRevision = from;
    if (direction === 'backwards' && typeof from === 'bigint') {
      // The contract reads backwards from the last event when `from` is past it; what ESDB does with a
      // start past the end of a stream is not part of its API, so the end is asked for explicitly.
      const last = await this.streamRevision(streamName);
      if (last < 0n) return;
      if (from > last) fromRevision = 'end';
    }
    // Every event is checked against its own hash and against the event read before it, as it streams:
    // a break ends the read before the event that shows it is delivered (backwards, a missing link shows
    // only once the older event is read, after the newer one was delivered). A read that starts in the
    // middle of a stream checks its first event on its own hash; `verifyStore` checks every link. A read
    // from the start whose first event is not revision 0 asks the stream's settings why (checkStreamStart).
    const check = new StreamChainCheck(streamName, direction);
    const records = this.scan(
      () => this.client.readStream(streamName, { direction, fromRevision, maxCount: toEsdbMaxCount(maxCount) }),
      // `$` event types are ESDB's own and never appear in a stream eventfold wrote, so skipping them
      // cannot make a page short in practice.
      (resolved: ResolvedEvent) => (resolved.event && !isSystemEvent(resolved.event.streamId, resolved.event.type) ? resolved.event : undefined),
      maxCount,
    );
    const fromFirst = direction === 'forwards' && (from === 'start' || from === 0n);
    for await (const record of records) {
      if (fromFirst && check.isFirst && record.revision > 0n) {
        const cut = await this.checkStreamStart(streamName, record.revision);
        if (cut) throw new TamperedStreamError(streamName, cut.revision ?? 0n, cut.message);
      }
      const found = check.next(toChainEvent(record));
      if (found) throw new TamperedStreamError(streamName, found.revision ?? record.revision, found.message);
      yield toRecordedEvent(record)!;
    }
  }

  /** Every stream that has events in `$all` (ESDB's own aside), each once, and how many events they hold. */
  async surveyStreams(): Promise<{ readonly streamNames: readonly string[]; readonly eventCount: number }> {
    this.assertOpen();
    const names = new Set<string>();
    let eventCount = 0;
    const records = this.scan(
      () => this.client.readAll({ direction: 'forwards', fromPosition: 'start' }),
      (resolved: AllStreamResolvedEvent) => (resolved.event && !isSystemEvent(resolved.event.streamId, resolved.event.type) ? resolved.event.streamId : undefined),
    );
    for await (const streamName of records) {
      names.add(streamName);
      eventCount++;
    }
    return { streamNames: [...names], eventCount };
  }

  /**
   * A stream whose first shown event is not revision 0 is explained by its settings only: after a soft
   * delete or a `truncateBefore` it starts exactly there; `maxCount` and `maxAge` may hide more. Anything
   * else means events at its start were removed from the server's storage. Read only in that case.
   */
  async checkStreamStart(streamName: string, firstRevision: bigint): Promise<ChainBreak | undefined> {
    let metadata: Esdb.StreamMetadata | undefined;
    try {
      metadata = (await this.client.getStreamMetadata(streamName)).metadata;
    } catch (error) {
      throw this.toStoreError(error);
    }
    const truncateBefore = typeof metadata?.truncateBefore === 'number' ? BigInt(metadata.truncateBefore) : 0n;
    const mayHideMore = metadata?.maxCount !== undefined || metadata?.maxAge !== undefined;
    if (firstRevision === truncateBefore || (mayHideMore && firstRevision > truncateBefore)) return undefined;
    const from = truncateBefore < firstRevision ? truncateBefore : 0n;
    return {
      kind: 'event-missing',
      streamName,
      revision: from,
      message: `stream "${streamName}" starts at revision ${firstRevision}, but nothing in its settings hides revision ${from}: events at its start were removed`,
    };
  }

  /** What `verifyStore` cannot prove here, for its report. */
  chainLimits(): readonly string[] {
    return CHAIN_LIMITS;
  }

  /** One stream's events as the server shows them, as the chain sees them, for `verifyStore`. */
  readStreamChain(streamName: string): AsyncIterable<StreamChainEvent> {
    this.assertOpen();
    validateStreamName(streamName);
    return this.scan(
      () => this.client.readStream(streamName, { direction: 'forwards', fromRevision: 'start' }),
      (resolved: ResolvedEvent) =>
        resolved.event && !isSystemEvent(resolved.event.streamId, resolved.event.type) ? toChainEvent(resolved.event) : undefined,
    );
  }

  /** One read: cancelled when the consumer stops early, ended with StoreClosedError when the store closes. */
  private scan<Item, Result>(
    open: () => StreamingRead<Item>,
    select: (item: Item) => Result | undefined,
    maxCount = Number.POSITIVE_INFINITY,
  ): AsyncIterable<Result> {
    return { [Symbol.asyncIterator]: () => this.pull(open, select, maxCount) };
  }

  private async *pull<Item, Result>(
    open: () => StreamingRead<Item>,
    select: (item: Item) => Result | undefined,
    maxCount: number,
  ): AsyncGenerator<Result> {
    this.assertOpen();
    if (maxCount <= 0) return;
    // Wrapped in the same tick as it is opened: see ClientStream.
    const read = open();
    const stream = new ClientStream<Item>(read, () => read.cancel(), this.abort.signal);
    let delivered = 0;
    try {
      for (;;) {
        const next = await stream.next();
        if (next === ABORTED) throw new StoreClosedError();
        if (next.done) return;
        const result = select(next.value);
        if (result === undefined) continue;
        yield result;
        if (++delivered >= maxCount) return;
      }
    } catch (error) {
      // A stream that was never written to reads as empty, as in every other backend.
      if (error instanceof this.esdb.StreamNotFoundError) return;
      throw this.toStoreError(error);
    } finally {
      await stream.stop();
    }
  }

  private nothing(): AsyncIterable<RecordedEvent> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: (): Promise<IteratorResult<RecordedEvent>> =>
          this.isClosed ? Promise.reject(new StoreClosedError()) : Promise.resolve({ done: true, value: undefined }),
      }),
    };
  }

  /** The stream's last revision, -1n when it does not exist. */
  private async streamRevision(streamName: string): Promise<bigint> {
    const revisions = this.scan(
      () => this.client.readStream(streamName, { direction: 'backwards', fromRevision: 'end', maxCount: 1 }),
      (resolved: ResolvedEvent) => resolved.event?.revision,
      1,
    );
    for await (const revision of revisions) return revision;
    return -1n;
  }

  /**
   * The one filter ESDB applies on the server, with checkpoints turned into markers in the flow (they
   * tell a subscriber how far the server has searched when few events match).
   */
  private serverFilter(filter: EventFilter | undefined): Filter {
    const spec = toEsdbFilterSpec(filter);
    const checkpointReached = markCheckpoint;
    const makeFilter = spec.filterOn === 'streamName' ? this.esdb.streamNameFilter : this.esdb.eventTypeFilter;
    return 'prefixes' in spec
      ? makeFilter({ prefixes: spec.prefixes, checkpointReached })
      : makeFilter({ regex: spec.regex, checkpointReached });
  }

  private track(start: () => Promise<SubscriptionPlan>): Subscription {
    const subscription = new EventStoreDbSubscription(
      start,
      (error) => this.toStoreError(error),
      (closed) => this.subscriptions.delete(closed),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  private async probe(url: string): Promise<void> {
    try {
      await withTimeout(this.headPosition(), CONNECT_TIMEOUT_MS, () => new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    } catch (error) {
      const reason = error instanceof StoreUnavailableError && error.cause !== undefined ? error.cause : error;
      throw new StoreUnavailableError(
        redactConnectionString(`cannot use EventStoreDB at ${url}: ${messageOf(reason)}`),
        { cause: error },
      );
    }
  }

  private toStoreError(error: unknown): Error {
    if (error instanceof EventStoreError) return error;
    if (this.isClosed) return new StoreClosedError();
    return new StoreUnavailableError(`EventStoreDB request failed: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Loaded on first connect rather than at import: requiring the gRPC client takes about 100 ms, which
 * users of the other backends should not pay. `module.require` is Node's (and Jest's) CommonJS require,
 * called as a method so that it does not read as a require-style import.
 */
function loadClientModule(): EsdbModule {
  return module.require('@eventstore/db-client') as EsdbModule;
}

function toEsdbMaxCount(maxCount: number): number | undefined {
  return Number.isFinite(maxCount) ? Math.min(maxCount, Number.MAX_SAFE_INTEGER) : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
