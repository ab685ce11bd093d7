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
import { storedHash, toChainEvent, toChainedEsdbEvents, userMetadataOf } from './eventstoredb-chain';
import {
  isSystemEvent,
  recordPosition,
  redactConnectionString,
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
import { validateStreamMetadata, type StreamLifecycleHost, type StreamMetadata } from '../../event-store/stream-lifecycle';
import {
  BatchTooLargeError,
  DuplicateEventIdError,
  EventStoreError,
  InvalidArgumentError,
  InvalidConnectionStringError,
  StoreClosedError,
  StoreUnavailableError,
  TamperedStreamError,
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
  type JsonObject,
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
import { GENESIS_HASH } from '../../event-store/hash-chain';
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
  type PreparedEvent,
} from '../../event-store/validation';
import { withTimeout } from '../../internal/delay';

type EsdbModule = typeof Esdb;

/** How long `connect` waits for the server's first answer; the client's own default deadline. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * How many times an append without an exact expected revision (`any`, `stream_exists`, `no_stream`)
 * re-reads the stream's head and tries again after losing a race. Each lost round means another writer
 * appended, so this many writers racing on one stream all get through; past it the caller gets a
 * WrongExpectedRevisionError, a conflict it may retry.
 */
export const MAX_APPEND_ATTEMPTS = 10;

/**
 * How far back from a stream's head an append without an exact revision looks for its own events, to
 * recognise a retry (see `appendAtHead`). Read in the same backwards read as the head, and cut short
 * at the first hit; streams shorter than this are read whole.
 */
export const RETRY_LOOKBACK = 100;

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
   * and try again, at most {@link MAX_APPEND_ATTEMPTS} times (see `appendAtHead`).
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
    if (typeof expected === 'bigint' && expected >= 0n) return this.appendAtRevision(streamName, prepared, metadata, expected);
    return this.appendAtHead(streamName, prepared, metadata, expected);
  }

  /**
   * An append at the caller's exact revision. Its idempotency is ESDB's own, as before the chain: a retry
   * (same ids, same expected revision) finds its events at the revisions after `expected`, and ESDB answers
   * with the original result without writing; `appendResult` then checks that what is stored is this very
   * decision. The retry's hashes may differ from the original's (its metadata's `time` may), but they are
   * never written, so the stored chain stays the original's. This is the path `handleCommand` takes: it
   * always appends at the revision it decided on.
   */
  private async appendAtRevision(
    streamName: string,
    prepared: readonly PreparedEvent[],
    metadata: readonly JsonObject[],
    expected: bigint,
  ): Promise<AppendResult> {
    const tip = await this.chainTip(streamName, expected);
    // A predecessor the server hides (soft delete, truncateBefore) cannot be read: the events are then
    // chained from nothing, and reads check the first one on its own hash.
    const previous = tip?.revision === expected ? tip.hash : GENESIS_HASH;
    let response: EsdbAppendResult;
    try {
      response = await this.client.appendToStream(streamName, toChainedEsdbEvents(streamName, expected + 1n, previous, prepared, metadata), {
        expectedRevision: expected,
      });
    } catch (error) {
      return this.settleFailedAppend(streamName, prepared, expected, expected, error);
    }
    return this.appendResult(streamName, prepared, response);
  }

  /**
   * An append with no exact revision from the caller (`any`, `stream_exists`, `no_stream` or -1n): made at
   * the head it reads, retried from a new read when another writer got there first.
   *
   * Idempotency. Without the chain, ESDB deduplicated an `any` retry itself, by matching its ids against
   * those it committed recently. An exact expected revision equal to the stream's head turns that check
   * off on the server (ESDB then writes without looking at ids), so this method makes it instead, where
   * a retry can show:
   * - the head read goes on past the last event through the stream's last {@link RETRY_LOOKBACK} events
   *   (one backwards read, stopped at the first hit) and finds one of this append's ids: the original
   *   landed (a retry after a timeout or a lost answer, with or without appends after it). The stored
   *   events are compared with this append by the kit's one rule (`repeatsStoredEvents`): the same
   *   decision gets the original result and nothing is written; anything else is a DuplicateEventIdError,
   *   as on every backend. `no_stream` looks at revision 0, the only place its original can be.
   * - the write is refused because the stream moved: the events that moved it, at the revisions this
   *   append would have taken, are looked at first. If they hold this append's first id (the original
   *   committed while the retry was reading), the retry settles the same way instead of appending again.
   * A retry whose original is further back than the lookback is written again (chained like any events).
   * The other backends catch that case through their store-wide unique event ids; ESDB has no index by
   * event id, and its own `any` check only covered ids in its recent-commit cache, so this keeps the
   * same kind of bound. The kit's commands never depend on it: they append at exact revisions, and
   * `recogniseRetry` answers a retried command from the stream before any append is tried.
   */
  private async appendAtHead(
    streamName: string,
    prepared: readonly PreparedEvent[],
    metadata: readonly JsonObject[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const ids = prepared.map((event) => event.id);
    let hiddenHead: bigint | undefined;
    let actual = -1n;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const { tip, seen } = await this.headAndRepeat(streamName, ids);
      let revision: bigint;
      let previous: Buffer;
      if (tip) {
        if (seen || expected === 'no_stream' || expected === -1n) {
          const slot = seen ? seen.revision - BigInt(ids.indexOf(seen.id)) : 0n;
          const earlier = await this.appendAt(streamName, prepared, slot);
          if (earlier instanceof Error) throw earlier;
          // A no_stream append's original can only have started the stream (as in resolveRepeatedAppend).
          if (earlier && slot !== 0n && expected !== 'any' && expected !== 'stream_exists') {
            throw new WrongExpectedRevisionError(streamName, expected, tip.revision);
          }
          if (earlier) return earlier;
          if (seen) {
            throw new DuplicateEventIdError(seen.id, `stream "${streamName}" holds it at revision ${seen.revision}, but this append does not repeat an earlier append there`);
          }
          throw new WrongExpectedRevisionError(streamName, expected, tip.revision);
        }
        revision = tip.revision;
        previous = tip.hash;
      } else {
        // No event to be seen. The stream may still have hidden ones (a soft delete keeps the revisions
        // counting, and ESDB accepts the next append after them): their last revision is where this
        // append must chain from, else its hashes would cover revisions it does not get.
        // A stream whose events are all hidden does not exist for reads, so it does not for stream_exists.
        if (expected === 'stream_exists') throw new WrongExpectedRevisionError(streamName, expected, -1n);
        hiddenHead ??= await this.hiddenHead(streamName);
        revision = hiddenHead ?? -1n;
        previous = GENESIS_HASH;
      }
      let response: EsdbAppendResult;
      try {
        response = await this.client.appendToStream(streamName, toChainedEsdbEvents(streamName, revision + 1n, previous, prepared, metadata), {
          expectedRevision: toEsdbExpectedRevision(revision),
        });
      } catch (error) {
        if (!(error instanceof this.esdb.WrongExpectedVersionError)) return this.settleFailedAppend(streamName, prepared, revision, expected, error);
        const earlier = await this.appendAt(streamName, prepared, revision + 1n);
        if (earlier instanceof Error) throw earlier;
        if (earlier) return earlier;
        actual = toRevision(error.actualVersion);
        // Only used while the head stays hidden: the server's own word on where the stream is.
        hiddenHead = actual >= 0n ? actual : undefined;
        continue;
      }
      return this.appendResult(streamName, prepared, response);
    }
    throw new WrongExpectedRevisionError(streamName, expected, actual);
  }

  /**
   * The stream's last event at or before `at` that the server shows, with the hash the next event
   * chains to: its stored hash, or 32 zero bytes when it has none (a stream written before the chain
   * existed starts its chain there). Undefined when the server shows none.
   */
  private async chainTip(streamName: string, at: bigint | 'end'): Promise<ChainTip | undefined> {
    const records = this.scan(
      () => this.client.readStream(streamName, { direction: 'backwards', fromRevision: at, maxCount: 1 }),
      (resolved: ResolvedEvent) => resolved.event,
      1,
    );
    for await (const record of records) return toChainTip(record);
    return undefined;
  }

  /**
   * The stream's head (as `chainTip`), and the newest of its last {@link RETRY_LOOKBACK} events that
   * carries one of `ids`, if any: one backwards read, which stops at that event.
   */
  private async headAndRepeat(streamName: string, ids: readonly string[]): Promise<{ tip?: ChainTip; seen?: { revision: bigint; id: string } }> {
    const wanted = new Set(ids);
    const records = this.scan(
      () => this.client.readStream(streamName, { direction: 'backwards', fromRevision: 'end', maxCount: RETRY_LOOKBACK }),
      (resolved: ResolvedEvent) => resolved.event,
      RETRY_LOOKBACK,
    );
    let tip: ChainTip | undefined;
    for await (const record of records) {
      tip ??= toChainTip(record);
      if (wanted.has(record.id)) return { tip, seen: { revision: record.revision, id: record.id } };
    }
    return tip ? { tip } : {};
  }

  /**
   * Where a stream whose events the server hides all of may end, or undefined when its settings hide
   * nothing (a new stream). After `truncateBefore` the last hidden revision is just before it; a soft
   * delete sets it to long.MaxValue until the stream is written again, which names no revision: the
   * answer is then a guess, and the server's refusal gives the revision (see `appendAtHead`). Read
   * only when no event can be seen, which for most streams means their first append.
   */
  private async hiddenHead(streamName: string): Promise<bigint | undefined> {
    let truncateBefore: unknown;
    try {
      truncateBefore = (await this.client.getStreamMetadata(streamName)).metadata?.truncateBefore;
    } catch (error) {
      throw this.toStoreError(error);
    }
    if (typeof truncateBefore !== 'number' || truncateBefore <= 0) return undefined;
    // Any exact revision is a safe guess: ESDB writes at exactly the revision after it or refuses, and its
    // refusal names the stream's real revision for the next attempt.
    return Number.isSafeInteger(truncateBefore) ? BigInt(truncateBefore) - 1n : 0n;
  }

  /**
   * EventStoreDB's own stream metadata (recorded by the server in the `$$<stream>` metadata stream, which
   * is its lifecycle record); reads honour it on the server.
   */
  async setStreamMetadata(streamName: string, metadata: Omit<StreamMetadata, 'deletedAt' | 'archivedTo'>): Promise<void> {
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
    // middle of a stream checks its first event on its own hash; `verifyStore` checks every link.
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
   * caller sees a timeout). What sits where this append's first event would have gone tells these apart.
   *
   * @param writtenAt the exact revision the write expected (-1n: no stream)
   * @param expected what the caller asked for, for the error
   */
  private async settleFailedAppend(
    streamName: string,
    prepared: readonly PreparedEvent[],
    writtenAt: bigint,
    expected: ExpectedRevision,
    error: unknown,
  ): Promise<AppendResult> {
    const { WrongExpectedVersionError, DeadlineExceededError, TimeoutError, MaxAppendSizeExceededError } = this.esdb;
    if (
      error instanceof WrongExpectedVersionError ||
      error instanceof DeadlineExceededError ||
      error instanceof TimeoutError
    ) {
      const earlier = await this.appendAt(streamName, prepared, writtenAt + 1n).catch(() => undefined);
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
   * The result of an earlier append of these very events when the stream holds this append's first
   * event at `slot` (the same rule as `resolveRepeatedAppend`); a DuplicateEventIdError when it holds it
   * there with only some of the ids or another decision under them; undefined when it is not there.
   */
  private async appendAt(
    streamName: string,
    prepared: readonly PreparedEvent[],
    slot: bigint,
  ): Promise<AppendResult | DuplicateEventIdError | undefined> {
    const firstId = prepared[0]!.id;
    if (slot < 0n) return undefined;
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

/** Where the next append to a stream chains from: its last shown event's revision, id and hash. */
interface ChainTip {
  readonly revision: bigint;
  readonly id: string;
  readonly hash: Buffer;
}

function toChainTip(record: EsdbRecordedEvent): ChainTip {
  return { revision: record.revision, id: record.id, hash: storedHash(record) ?? GENESIS_HASH };
}

function toEsdbMaxCount(maxCount: number): number | undefined {
  return Number.isFinite(maxCount) ? Math.min(maxCount, Number.MAX_SAFE_INTEGER) : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
