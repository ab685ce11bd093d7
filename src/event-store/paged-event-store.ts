import { CatchUpSubscription, type CatchUpSource } from './catch-up-subscription';
import { ChangeSignal } from './change-signal';
import { InvalidArgumentError, StoreClosedError, StoreUnavailableError } from './errors';
import {
  DEFAULT_LIMITS,
  type AppendOptions,
  type AppendResult,
  type Direction,
  type EventData,
  type EventFilter,
  type EventStore,
  type EventStoreBackend,
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
} from './event-store';
import { foldPagesFromReadStream, leanEvent } from './fold-read';
import {
  hidesEvents,
  parseStreamMetadata,
  serialiseStreamMetadata,
  validateStreamMetadata,
  visibleUnder,
  type DeleteStreamOptions,
  type LifecycleAction,
  type StreamLifecycleHost,
  type StreamMetadata,
  type SystemMetadataKey,
} from './stream-lifecycle';
import type { FromPosition, Position } from './position';
import {
  prepareEvents,
  validateDirection,
  validateExpectedRevision,
  validateFilter,
  validateFoldOptions,
  validateFromPosition,
  validateFromRevision,
  validateMaxCount,
  validateStreamName,
  type PreparedEvent,
} from './validation';

/** Highest revision a stream could reach; "read backwards from the end" reads from here. */
const LAST_REVISION = (1n << 63n) - 1n;

export interface PagedEventStoreOptions {
  readonly limits?: Partial<EventStoreLimits>;
  /** Events fetched per round trip by reads and subscriptions. Default 1,000. */
  readonly pageSize?: number;
  /** How often a waiting subscriber reads again without a notification. */
  readonly pollIntervalMs?: number;
}

/** See `PagedEventStore.readStreamFoldStart`. */
export interface StreamFoldStart {
  readonly metadataText: string | undefined;
  /** Present when the backend read the first page with the metadata: that page, or undefined if empty. */
  readonly first?: StreamFoldPage | undefined;
}

/**
 * What memory, SQLite and PostgreSQL share: input checks, paging reads into async iterables, catch-up
 * subscriptions and closing. A backend supplies pages and the append itself.
 */
export abstract class PagedEventStore implements EventStore, StreamLifecycleHost {
  abstract readonly backend: EventStoreBackend;
  abstract readonly capabilities: StoreCapabilities;
  protected readonly limits: EventStoreLimits;
  protected readonly pageSize: number;
  protected readonly pollIntervalMs: number;
  protected readonly signal = new ChangeSignal();
  private readonly subscriptions = new Set<CatchUpSubscription<unknown>>();
  private closing: Promise<void> | undefined;

  protected constructor(options: PagedEventStoreOptions, defaultPollIntervalMs: number) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.pageSize = options.pageSize ?? 1_000;
    this.pollIntervalMs = options.pollIntervalMs ?? defaultPollIntervalMs;
  }

  protected abstract appendPrepared(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult>;

  /** Events of one stream from `from` inclusive, in `direction`, at most `limit`. */
  protected abstract readStreamPage(
    streamName: string,
    from: bigint,
    direction: Direction,
    limit: number,
  ): Promise<readonly RecordedEvent[]>;

  /**
   * Up to `limit` events of one stream forwards from `from` inclusive, for a fold; undefined when there
   * are none. This default decodes full events; a backend overrides it to decode less.
   */
  protected async readStreamFoldPage(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<StreamFoldPage | undefined> {
    const page = await this.readStreamPage(streamName, from, 'forwards', limit);
    if (page.length === 0) return undefined;
    return { fromRevision: from, events: page.map((event) => leanEvent(event, metadataKeys)), last: page[page.length - 1]! };
  }

  /**
   * How a fold of a stream starts: the stream's lifecycle metadata and, where the backend can read it in
   * the same round trip, the first fold page from `from` (`first`; undefined when the stream has no
   * events there). This default reads the metadata only, and the fold reads its first page after it.
   */
  protected async readStreamFoldStart(
    streamName: string,
    _from: bigint,
    _limit: number,
    _metadataKeys: readonly string[],
  ): Promise<StreamFoldStart> {
    return { metadataText: await this.readStreamMetadataText(streamName) };
  }

  /** Events of `$all` strictly after (forwards) or before (backwards) `after`, at most `limit`. */
  protected abstract readAllPage(
    after: FromPosition,
    direction: Direction,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<readonly RecordedEvent[]>;

  /** Events with this correlation id strictly after `after`, in position order, at most `limit`. */
  protected abstract readCorrelationPage(
    correlationId: string,
    after: Position | 'start',
    limit: number,
  ): Promise<readonly RecordedEvent[]>;

  /** The stream's last revision, -1n when it does not exist. */
  protected abstract streamRevision(streamName: string): Promise<bigint>;

  abstract headPosition(): Promise<Position | undefined>;

  /** The stream's metadata as last recorded (stored text); undefined when none was ever set. */
  protected abstract readStreamMetadataText(streamName: string): Promise<string | undefined>;

  /**
   * Records one lifecycle action atomically: reads the stream's current metadata text and revision,
   * asks `next` for the new metadata text, and appends the record to the lifecycle log's hash chain.
   * For an `archive` record (see `archivedBeforeOf`) the same transaction removes the payload of the
   * stream's events before `archivedBefore`, leaving each a stub (its hash, place and the record's
   * sequence), so the chains still verify and reads skip it.
   */
  protected abstract recordLifecycle(
    streamName: string,
    action: LifecycleAction,
    next: (current: string | undefined, revision: bigint) => string,
  ): Promise<void>;

  protected abstract closeBackend(): Promise<void>;

  get isClosed(): boolean {
    return this.closing !== undefined;
  }

  protected assertOpen(): void {
    if (this.closing) throw new StoreClosedError();
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
    const result = await this.appendPrepared(streamName, prepared, expected);
    this.signal.notify();
    return result;
  }

  async setStreamMetadata(streamName: string, metadata: Omit<StreamMetadata, SystemMetadataKey>): Promise<void> {
    this.assertOpen();
    validateStreamName(streamName);
    const valid = validateStreamMetadata(metadata);
    await this.recordLifecycle(streamName, 'metadata', (current) => {
      // What was archived stays archived: its payload is gone, so no metadata may show it again.
      const { archivedTo, archivedBefore } = parseStreamMetadata(current);
      return serialiseStreamMetadata({ ...valid, ...(archivedTo !== undefined ? { archivedTo } : {}), ...(archivedBefore !== undefined ? { archivedBefore } : {}) });
    });
  }

  async getStreamMetadata(streamName: string): Promise<StreamMetadata> {
    this.assertOpen();
    validateStreamName(streamName);
    return parseStreamMetadata(await this.readStreamMetadataText(streamName));
  }

  async deleteStream(streamName: string, options: DeleteStreamOptions = {}): Promise<void> {
    this.assertOpen();
    validateStreamName(streamName);
    const { archivedTo, archivedThrough } = options;
    if (archivedTo !== undefined && (typeof archivedTo !== 'string' || archivedTo.length === 0)) throw new InvalidArgumentError('archivedTo must be a non-empty string');
    if ((archivedTo === undefined) !== (archivedThrough === undefined)) throw new InvalidArgumentError('archivedTo and archivedThrough go together');
    if (archivedThrough !== undefined && (typeof archivedThrough !== 'bigint' || archivedThrough < 0n)) {
      throw new InvalidArgumentError('archivedThrough must be a revision (a bigint >= 0n)');
    }
    await this.recordLifecycle(streamName, archivedTo === undefined ? 'delete' : 'archive', (current, revision) => {
      if (revision < 0n) throw new InvalidArgumentError(`stream "${streamName}" does not exist, so it cannot be deleted`);
      const previous = parseStreamMetadata(current);
      if (archivedThrough === undefined) return serialiseStreamMetadata({ ...previous, truncateBefore: revision + 1n, deletedAt: new Date().toISOString() });
      if (archivedThrough > revision) throw new InvalidArgumentError(`stream "${streamName}" ends at revision ${revision}, before the archived revision ${archivedThrough}`);
      if (previous.archivedBefore !== undefined && previous.archivedBefore > archivedThrough) {
        throw new InvalidArgumentError(`stream "${streamName}" is already archived up to revision ${previous.archivedBefore - 1n}`);
      }
      // Events appended after the archive was written stay readable: only what the archive holds goes.
      const archivedBefore = archivedThrough + 1n;
      return serialiseStreamMetadata({
        ...previous,
        truncateBefore: previous.truncateBefore !== undefined && previous.truncateBefore > archivedBefore ? previous.truncateBefore : archivedBefore,
        ...(archivedThrough === revision ? { deletedAt: new Date().toISOString() } : {}),
        archivedTo,
        archivedBefore,
      });
    });
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    validateStreamName(streamName);
    const direction = validateDirection(options.direction);
    const from = validateFromRevision(options.fromRevision, direction === 'forwards' ? 'start' : 'end');
    const maxCount = validateMaxCount(options.maxCount);
    if (options.includeHidden) return this.readStreamUnfiltered(streamName, direction, from, maxCount);
    const metadataOf = () => this.readStreamMetadataText(streamName);
    const revisionOf = () => this.streamRevision(streamName);
    const unfiltered = (limit: number) => this.readStreamUnfiltered(streamName, direction, from, limit);
    return {
      async *[Symbol.asyncIterator]() {
        const metadata = parseStreamMetadata(await metadataOf());
        if (!hidesEvents(metadata)) {
          yield* unfiltered(maxCount);
          return;
        }
        // Hidden events are left out before counting, so `maxCount` counts what the caller sees.
        const visible = visibleUnder(metadata, await revisionOf(), Date.now());
        let remaining = maxCount;
        for await (const event of unfiltered(Number.POSITIVE_INFINITY)) {
          if (remaining <= 0) return;
          if (!visible(event)) continue;
          remaining--;
          yield event;
        }
      },
    };
  }

  private readStreamUnfiltered(
    streamName: string,
    direction: Direction,
    from: bigint | 'start' | 'end',
    maxCount: number,
  ): AsyncIterable<RecordedEvent> {
    return this.pages(maxCount, async (remaining, last) => {
      let next: bigint;
      if (last) next = direction === 'forwards' ? last.revision + 1n : last.revision - 1n;
      else if (from === 'start') next = direction === 'forwards' ? 0n : -1n;
      else if (from === 'end') next = direction === 'forwards' ? -1n : LAST_REVISION;
      else next = from;
      if (next < 0n) return [];
      return this.readStreamPage(streamName, next, direction, remaining);
    });
  }

  readStreamForFold(streamName: string, options: ReadStreamForFoldOptions = {}): AsyncIterable<StreamFoldPage> {
    this.assertOpen();
    validateStreamName(streamName);
    const { from, metadataKeys } = validateFoldOptions(options);
    const start = () => this.readStreamFoldStart(streamName, from, this.pageSize, metadataKeys);
    const lean = (started: StreamFoldStart) => this.readStreamForFoldUnfiltered(streamName, options, started);
    const filtered = () => foldPagesFromReadStream(this, streamName, options);
    return {
      async *[Symbol.asyncIterator]() {
        // A stream with lifecycle metadata folds what a read shows; the lean path serves every other
        // (with the first page when the backend read it along with the metadata).
        const started = await start();
        yield* hidesEvents(parseStreamMetadata(started.metadataText)) ? filtered() : lean(started);
      },
    };
  }

  private readStreamForFoldUnfiltered(streamName: string, options: ReadStreamForFoldOptions, started: StreamFoldStart): AsyncIterable<StreamFoldPage> {
    const { from, metadataKeys } = validateFoldOptions(options);
    const pageSize = this.pageSize;
    const assertOpen = () => this.assertOpen();
    const readPage = (next: bigint) => this.readStreamFoldPage(streamName, next, pageSize, metadataKeys);
    return {
      async *[Symbol.asyncIterator]() {
        let next = from;
        let first = 'first' in started ? { page: started.first } : undefined;
        for (;;) {
          assertOpen();
          const page = first ? first.page : await readPage(next);
          first = undefined;
          if (!page) return;
          const expectedLast = page.fromRevision + BigInt(page.events.length) - 1n;
          if (page.fromRevision !== next || page.last.revision !== expectedLast) {
            // Revisions have no gaps; a page that says otherwise must not be folded.
            throw new StoreUnavailableError(`stream "${streamName}" read from revision ${next} gave revisions ${page.fromRevision}..${page.last.revision} for ${page.events.length} events`);
          }
          yield page;
          if (page.events.length < pageSize) return;
          next = page.last.revision + 1n;
        }
      },
    };
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    const direction = validateDirection(options.direction);
    const from = validateFromPosition(options.fromPosition, direction === 'forwards' ? 'start' : 'end');
    const maxCount = validateMaxCount(options.maxCount);
    const filter = validateFilter(options.filter);
    return this.pages(maxCount, (remaining, last) =>
      this.readAllPage(last ? last.position : from, direction, remaining, filter),
    );
  }

  readCorrelation(correlationId: string): AsyncIterable<RecordedEvent> {
    this.assertOpen();
    if (typeof correlationId !== 'string' || correlationId.length === 0) {
      throw new InvalidArgumentError('correlationId must be a non-empty string');
    }
    return this.pages(Number.POSITIVE_INFINITY, (limit, last) =>
      this.readCorrelationPage(correlationId, last ? last.position : 'start', limit),
    );
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): Subscription {
    this.assertOpen();
    const from = validateFromPosition(options.fromPosition, 'start');
    const filter = validateFilter(options.filter);
    return this.track<FromPosition>({
      start: async () => (from === 'end' ? ((await this.headPosition()) ?? 'start') : from),
      readPage: (after, limit) => this.readAllPage(after, 'forwards', limit, filter),
      cursorOf: (event) => event.position,
    });
  }

  subscribeToStream(streamName: string, options: SubscribeToStreamOptions = {}): Subscription {
    this.assertOpen();
    validateStreamName(streamName);
    const from = validateFromRevision(options.fromRevision, 'start');
    return this.track<bigint>({
      start: async () => (from === 'start' ? -1n : from === 'end' ? await this.streamRevision(streamName) : from),
      readPage: (after, limit) => this.readStreamPage(streamName, after + 1n, 'forwards', limit),
      cursorOf: (event) => event.revision,
    });
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
      await this.closeBackend();
    })();
    return this.closing;
  }

  private track<Cursor>(
    source: Pick<CatchUpSource<Cursor>, 'start' | 'readPage' | 'cursorOf'>,
  ): Subscription {
    const subscription = new CatchUpSubscription<Cursor>(
      { ...source, signal: this.signal, pollIntervalMs: this.pollIntervalMs, pageSize: this.pageSize },
      (closed) => this.subscriptions.delete(closed as CatchUpSubscription<unknown>),
    );
    this.subscriptions.add(subscription as CatchUpSubscription<unknown>);
    return subscription;
  }

  private pages(
    maxCount: number,
    readPage: (limit: number, last: RecordedEvent | undefined) => Promise<readonly RecordedEvent[]>,
  ): AsyncIterable<RecordedEvent> {
    const pageSize = this.pageSize;
    const assertOpen = () => this.assertOpen();
    return {
      async *[Symbol.asyncIterator]() {
        let remaining = maxCount;
        let last: RecordedEvent | undefined;
        while (remaining > 0) {
          assertOpen();
          const limit = Math.min(pageSize, remaining);
          const page = await readPage(limit, last);
          for (const event of page) yield event;
          remaining -= page.length;
          if (page.length < limit) return;
          last = page[page.length - 1];
        }
      },
    };
  }
}
