import type * as Esdb from '@eventstore/db-client';
import type {
  AllStreamResolvedEvent,
  AppendResult as EsdbAppendResult,
  EventStoreDBClient,
  Filter,
  ReadRevision,
  RecordedEvent as EsdbRecordedEvent,
  ResolvedEvent,
  StreamingRead,
} from '@eventstore/db-client';
import { ABORTED, ClientStream } from './eventstoredb-client-stream';
import {
  isSystemEvent,
  recordPosition,
  redactConnectionString,
  toEsdbEventData,
  toEsdbExpectedRevision,
  toEsdbFilterSpec,
  toEsdbReadPosition,
  toPosition,
  toRecordedEvent,
  toRevision,
  toStoredDecision,
} from './eventstoredb-mapping';
import {
  allStreamSteps,
  EventStoreDbSubscription,
  markCheckpoint,
  streamSteps,
  watchSubscription,
  type SubscriptionPlan,
} from './eventstoredb-subscription';
import { repeatsStoredEvents } from '../../event-store/idempotency';
import { validateStreamMetadata, type StreamLifecycleHost, type StreamMetadata, type SystemMetadataKey } from '../../event-store/stream-lifecycle';
import {
  BatchTooLargeError,
  DuplicateEventIdError,
  EventStoreError,
  InvalidArgumentError,
  InvalidConnectionStringError,
  StoreClosedError,
  StoreUnavailableError,
  WrongExpectedRevisionError,
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
  type ExpectedRevision,
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
  type PreparedEvent,
} from '../../event-store/validation';
import { withTimeout } from '../../internal/delay';

type EsdbModule = typeof Esdb;

/** How long `connect` waits for the server's first answer; the client's own default deadline. */
const CONNECT_TIMEOUT_MS = 10_000;

/** How far back a refused `any` append looks for an earlier copy of itself. */
const RECENT_EVENTS = 10_000;

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
export class EventStoreDbEventStore implements EventStore, StreamLifecycleHost {
  readonly backend = 'eventstoredb' as const;
  readonly capabilities: StoreCapabilities = { durable: true, sequencePositions: false };
  private readonly limits: EventStoreLimits;
  /** Fires on close, so that reads waiting on the server end at once with StoreClosedError. */
  private readonly abort = new AbortController();
  private readonly subscriptions = new Set<EventStoreDbSubscription>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly esdb: EsdbModule,
    private readonly client: EventStoreDBClient,
    options: PagedEventStoreOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
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
    const store = new EventStoreDbEventStore(esdb, client, options);
    try {
      await store.probe(url);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

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
    let response: EsdbAppendResult;
    try {
      response = await this.client.appendToStream(streamName, prepared.map(toEsdbEventData), {
        expectedRevision: toEsdbExpectedRevision(expected),
      });
    } catch (error) {
      return this.settleFailedAppend(streamName, prepared, expected, error);
    }
    return this.appendResult(streamName, prepared, response);
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
    yield* this.scan(
      () => this.client.readStream(streamName, { direction, fromRevision, maxCount: toEsdbMaxCount(maxCount) }),
      // `$` event types are ESDB's own and never appear in a stream eventfold wrote, so skipping them
      // cannot make a page short in practice.
      (resolved: ResolvedEvent) => (resolved.event ? toRecordedEvent(resolved.event) : undefined),
      maxCount,
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
   * The append's own answer is not always the `$all` position that reads and subscriptions report for
   * the last event: a retry ESDB deduplicated gets no position from servers before 23.x and only a log
   * position from later ones, and some versions answer (commit, commit) rather than the event's
   * (commit, prepare). Reading the appended events back gives the exact position, so a checkpoint taken
   * from an append compares correctly with events read later. The answer is the fallback when the
   * read-back misses (a follower that is behind).
   *
   * The read-back is also the idempotency check ESDB cannot make: it deduplicates by event id alone, so an
   * append whose ids are stored with another decision (a command id reused by a racing caller) is
   * "successful" without writing anything. What is stored must be this very decision, else the append is
   * refused like on every other backend.
   */
  private async appendResult(
    streamName: string,
    prepared: readonly PreparedEvent[],
    response: EsdbAppendResult,
  ): Promise<AppendResult> {
    const revision = response.nextExpectedRevision;
    const first = revision - BigInt(prepared.length) + 1n;
    const stored = await this.eventsAt(streamName, first, prepared.length).catch(() => []);
    if (stored.length === prepared.length && !repeatsStoredEvents(prepared, stored.map(toStoredDecision))) {
      throw new DuplicateEventIdError(
        prepared[0]!.id,
        `stream "${streamName}" holds it at revision ${first} with another decision; EventStoreDB deduplicated the append by id`,
      );
    }
    const last = stored[stored.length - 1];
    const position = last?.id === prepared[prepared.length - 1]!.id && last.position ? last.position : response.position;
    if (!position) {
      throw new StoreUnavailableError(
        `EventStoreDB appended to "${streamName}" up to revision ${revision} but reported no position for it`,
      );
    }
    return { revision, position: toPosition(position) };
  }

  private async eventsAt(streamName: string, fromRevision: bigint, count: number): Promise<EsdbRecordedEvent[]> {
    const stored: EsdbRecordedEvent[] = [];
    const records = this.scan(
      () => this.client.readStream(streamName, { direction: 'forwards', fromRevision, maxCount: count }),
      (resolved: ResolvedEvent) => resolved.event,
      count,
    );
    for await (const record of records) stored.push(record);
    return stored;
  }

  /**
   * Settles an append ESDB refused or left unanswered against what the stream holds. ESDB answers "wrong
   * expected version" both to a real conflict and to a retry that repeats only part of an earlier append,
   * and it drops, unanswered, a retry that arrives while the original is still being replicated (the
   * caller sees a timeout). Where this append's first event would sit tells these apart.
   */
  private async settleFailedAppend(
    streamName: string,
    prepared: readonly PreparedEvent[],
    expected: ExpectedRevision,
    error: unknown,
  ): Promise<AppendResult> {
    const { WrongExpectedVersionError, DeadlineExceededError, TimeoutError, MaxAppendSizeExceededError } = this.esdb;
    if (
      error instanceof WrongExpectedVersionError ||
      error instanceof DeadlineExceededError ||
      error instanceof TimeoutError
    ) {
      const earlier = await this.earlierAppend(streamName, prepared, expected).catch(() => undefined);
      if (earlier instanceof Error) throw earlier;
      if (earlier) return earlier;
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(streamName, expected, toRevision(error.actualVersion));
      }
    }
    if (error instanceof MaxAppendSizeExceededError) {
      throw new BatchTooLargeError(
        `the append is over the EventStoreDB server's MaxAppendSize of ${error.maxAppendSize} bytes`,
      );
    }
    throw this.toStoreError(error);
  }

  /**
   * The stream already holding this append's first event where this append would have put it: the
   * original result when it holds exactly this decision (the same rule as `resolveRepeatedAppend`), a
   * DuplicateEventIdError when it holds only some of the ids or another decision under them; undefined when it is not there.
   */
  private async earlierAppend(
    streamName: string,
    prepared: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult | DuplicateEventIdError | undefined> {
    const firstId = prepared[0]!.id;
    const slot =
      typeof expected === 'bigint'
        ? expected + 1n
        : expected === 'no_stream'
          ? 0n
          : await this.recentRevisionOf(streamName, firstId);
    if (slot === undefined) return undefined;
    const stored = await this.eventsAt(streamName, slot, prepared.length);
    if (stored[0]?.id !== firstId) return undefined;
    if (!repeatsStoredEvents(prepared, stored.map(toStoredDecision))) {
      return new DuplicateEventIdError(
        firstId,
        `stream "${streamName}" holds it at revision ${slot}, but this append does not repeat that earlier append exactly`,
      );
    }
    const last = stored[stored.length - 1]!;
    return { revision: last.revision, position: recordPosition(last) };
  }

  /**
   * Where the event sits among the stream's recent events. ESDB itself matches an `any` retry only
   * against ids it committed recently, so looking further back would find nothing it could refuse.
   */
  private async recentRevisionOf(streamName: string, eventId: string): Promise<bigint | undefined> {
    const revisions = this.scan(
      () => this.client.readStream(streamName, { direction: 'backwards', fromRevision: 'end', maxCount: RECENT_EVENTS }),
      (resolved: ResolvedEvent) => (resolved.event?.id === eventId ? resolved.event.revision : undefined),
      1,
    );
    for await (const revision of revisions) return revision;
    return undefined;
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
