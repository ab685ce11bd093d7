import type { FromPosition, Position } from './position';

/** A JSON value as stored: what `JSON.parse(JSON.stringify(x))` gives back unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * Metadata stored with an event. The well-known keys are set by the command layer; callers may add any
 * other JSON values.
 */
export type EventMetadata = JsonObject & {
  correlationId?: string;
  causationId?: string;
  userId?: string;
  tenantId?: string;
  commandId?: string;
  time?: string;
};

/**
 * An event to append.
 *
 * @example
 * const event: EventData = { id: randomUUID(), type: 'OrderPlaced', data: { orderId: 'o-1' } };
 */
export interface EventData {
  /** A UUID. Appending the same ids again after a success is a no-op (idempotent append). */
  readonly id: string;
  readonly type: string;
  readonly data: JsonValue;
  readonly metadata?: EventMetadata;
}

/** An event as read back from the store. */
export interface RecordedEvent {
  readonly id: string;
  readonly type: string;
  readonly streamName: string;
  /** Gap-free per stream; the first event is 0. */
  readonly revision: bigint;
  readonly position: Position;
  readonly data: JsonValue;
  readonly metadata: EventMetadata;
  /** Stamped by the store when the event was appended. */
  readonly recordedAt: Date;
}

/**
 * What the stream must look like for an append to go ahead: any state, absent, present, or exactly at a
 * revision (the revision of its last event).
 */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

/** "No stream" as a revision. */
export const NO_STREAM_REVISION = -1n;

export interface AppendOptions {
  readonly expectedRevision?: ExpectedRevision;
}

export interface AppendResult {
  /** The stream's revision after the append (the revision of its last event). */
  readonly revision: bigint;
  /** The global position of the last appended event. */
  readonly position: Position;
}

export type Direction = 'forwards' | 'backwards';

export interface ReadStreamOptions {
  /** Inclusive. Forwards defaults to 0, backwards to `'end'`. */
  readonly fromRevision?: bigint | 'start' | 'end';
  readonly direction?: Direction;
  readonly maxCount?: number;
  /**
   * Also the events that the stream's lifecycle metadata or a soft delete hides from reads (for audits).
   * Default false. EventStoreDB hides them on the server, so there it reads what the server shows.
   * Archived events are no longer in the store: `withArchives(store, shelf)` reads them back.
   */
  readonly includeHidden?: boolean;
}

/** Selects events of `$all`. Both parts given means both must match. */
export interface EventFilter {
  /** The stream name starts with one of these. */
  readonly streamPrefixes?: readonly string[];
  /** The event type is one of these. */
  readonly eventTypes?: readonly string[];
}

export interface ReadAllOptions {
  /**
   * Exclusive: a position already seen (a checkpoint), or `'start'` / `'end'`.
   * Forwards defaults to `'start'`, backwards to `'end'`.
   */
  readonly fromPosition?: FromPosition;
  readonly direction?: Direction;
  readonly maxCount?: number;
  readonly filter?: EventFilter;
}

export interface SubscribeToAllOptions {
  /** Exclusive: the subscriber gets exactly the events after this position. Default `'start'`. */
  readonly fromPosition?: FromPosition;
  readonly filter?: EventFilter;
}

export interface SubscribeToStreamOptions {
  /** Exclusive: the last revision already processed, or `'start'` / `'end'`. Default `'start'`. */
  readonly fromRevision?: bigint | 'start' | 'end';
}

/** One item from a subscription: an event, or the signal that the subscriber has reached the live head. */
export type SubscriptionMessage =
  | { readonly kind: 'event'; readonly event: RecordedEvent }
  | { readonly kind: 'caught-up' };

/**
 * A catch-up subscription: it delivers stored events from its start, signals `caught-up` once, then
 * delivers new events as they are committed. Iterate it with `for await`; `close()` (or `break`) ends it.
 *
 * @example
 * const subscription = store.subscribeToAll({ fromPosition: checkpoint });
 * for await (const message of subscription) {
 *   if (message.kind === 'event') await handle(message.event);
 * }
 */
export interface Subscription extends AsyncIterable<SubscriptionMessage> {
  close(): Promise<void>;
}

/**
 * One event of a stream as a fold reads it: its type, its data and the metadata keys asked for. The
 * rest (id, revision, position, time) a fold needs only for the last event, which its page carries in full.
 */
export interface FoldEvent {
  readonly type: string;
  readonly data: JsonValue;
  /** Only the top-level keys asked for (`metadataKeys`), those the event has. */
  readonly metadata: EventMetadata;
}

/** A page of {@link EventStoreReader.readStreamForFold}: consecutive events of one stream. */
export interface StreamFoldPage {
  /** The revision of `events[0]`; `events[i]` is at `fromRevision + BigInt(i)` (revisions have no gaps). */
  readonly fromRevision: bigint;
  /** At least one event, in stream order. */
  readonly events: readonly FoldEvent[];
  /** The page's last event in full, all its metadata included: where a fold stands after the page. */
  readonly last: RecordedEvent;
}

export interface ReadStreamForFoldOptions {
  /** Inclusive; default 0. */
  readonly fromRevision?: bigint | 'start';
  /** The top-level metadata keys each {@link FoldEvent} keeps. Default none. */
  readonly metadataKeys?: readonly string[];
}

/** Reads streams and the global log. */
export interface EventStoreReader {
  readStream(streamName: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent>;
  /**
   * Reads a stream forwards a page at a time for a fold, decoding only what a fold uses: each event's
   * type, data and the metadata keys asked for, and each page's last event in full. The same events as
   * `readStream`, for less work. Optional: `readStreamForFold(reader, …)` (the function) falls back to
   * `readStream` for a reader without it.
   *
   * @example
   * for await (const page of store.readStreamForFold!('cart-1', { metadataKeys: ['schemaVersion'] })) {
   *   for (const event of page.events) state = evolve(state, event);
   * }
   */
  readStreamForFold?(streamName: string, options?: ReadStreamForFoldOptions): AsyncIterable<StreamFoldPage>;
  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent>;
  /**
   * Every event whose `metadata.correlationId` is this id, across streams, in `$all` order: one workflow's
   * history, for audits.
   *
   * @example
   * for await (const event of store.readCorrelation(receipt.correlationId)) console.log(event.type);
   */
  readCorrelation(correlationId: string): AsyncIterable<RecordedEvent>;
}

/** Appends events atomically with an optimistic concurrency check. */
export interface EventStoreWriter {
  /**
   * Appends all the events or none of them.
   *
   * @example
   * const { revision, position } = await store.appendToStream('order-42', [event], { expectedRevision: 'no_stream' });
   * @throws WrongExpectedRevisionError when the stream is not at the expected revision.
   */
  appendToStream(streamName: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult>;
}

/** Catch-up subscriptions: from a checkpoint, then live. */
export interface EventStoreSubscriber {
  subscribeToAll(options?: SubscribeToAllOptions): Subscription;
  subscribeToStream(streamName: string, options?: SubscribeToStreamOptions): Subscription;
}

/**
 * The one event-store contract every backend implements.
 *
 * @example
 * const store = await connectEventStore('sqlite:./data/events.db');
 * await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderPlaced', data: {} }]);
 * await store.close();
 */
export interface EventStore extends EventStoreReader, EventStoreWriter, EventStoreSubscriber {
  /** Which backend this is (`memory`, `sqlite`, `postgres`, `eventstoredb`), for messages: engines ask `capabilities`. */
  readonly backend: EventStoreBackend;
  /** What this backend does, for engines that adapt to it. */
  readonly capabilities: StoreCapabilities;
  /** The position of the last event a subscriber can safely see now; undefined when the store is empty. */
  headPosition(): Promise<Position | undefined>;
  /** Releases connections and ends open subscriptions. */
  close(): Promise<void>;
}

export type EventStoreBackend = 'memory' | 'sqlite' | 'postgres' | 'eventstoredb';

/**
 * What a backend does that engines adapt to. Engines ask these, never the backend's name.
 *
 * @example
 * if (store.capabilities.sequencePositions) lag = Number(head.prepare - checkpoint.prepare);
 */
export interface StoreCapabilities {
  /** Nothing survives the process (reactor bookkeeping may then live in memory too). */
  readonly durable: boolean;
  /** A position's `prepare` counts events, so the events between two positions are a subtraction. */
  readonly sequencePositions: boolean;
}

/** Limits every backend enforces before writing anything. */
export interface EventStoreLimits {
  /** Most events in one append. Default 50,000. */
  readonly maxAppendEvents: number;
  /** Largest serialised data + metadata of one event, in bytes. Default 4 MiB. */
  readonly maxEventBytes: number;
}

export const DEFAULT_LIMITS: EventStoreLimits = { maxAppendEvents: 50_000, maxEventBytes: 4 * 1024 * 1024 };
