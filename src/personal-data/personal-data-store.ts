import { randomUUID } from 'node:crypto';
import type { EventCatalog } from '../domain/event-catalog';
import type { PersonalDataSpec } from '../domain/personal-data';
import type {
  AppendOptions,
  AppendResult,
  EventData,
  EventStore,
  EventStoreBackend,
  ReadAllOptions,
  ReadStreamForFoldOptions,
  ReadStreamOptions,
  RecordedEvent,
  StoreCapabilities,
  StreamFoldPage,
  SubscribeToAllOptions,
  SubscribeToStreamOptions,
  Subscription,
  SubscriptionMessage,
} from '../event-store/event-store';
import { foldPagesFromReadStream } from '../event-store/fold-read';
import type { Position } from '../event-store/position';
import type { ReactorStateStore } from '../handlers/reactor-state-store';
import { reactorStateStoreFor, type ReactorStateHost } from '../handlers/state-store-for';
import { InvalidSubjectError } from './errors';
import type { KeyStore } from './key-store';
import { PERSONAL_DATA_KEY, resealEvent, revealEvent, sealEvent, sealedKeyId } from './seal';
import { checkSubjectId, SUBJECT_FORGOTTEN, subjectStreamName } from './subject';

/**
 * What {@link protectPersonalData} needs: the catalogs that declare personal fields, and where the
 * subjects' keys live.
 */
export interface PersonalDataOptions {
  /** Event catalogs (`defineEvents`) whose `personal()` fields are sealed at append. */
  readonly events: readonly EventCatalog[];
  readonly keys: KeyStore;
}

/**
 * What `forgetSubject` did: the keys it destroyed and where its `SubjectForgotten` event sits (wait
 * for that position before you read models that clean up on it).
 */
export interface ForgetReceipt {
  readonly subjectId: string;
  readonly keysDestroyed: number;
  readonly streamName: string;
  readonly revision: bigint;
  readonly position: Position;
}

/** Keys looked up within one finite read are remembered for it, up to this many. */
const READ_KEY_CACHE = 1_000;

/**
 * An event store whose declared personal fields are encrypted before they reach the wrapped store and
 * decrypted on every read, so every consumer reading through it (command folds, projections, reactors,
 * webhooks, the audit API) sees plaintext, or the redacted value once the subject was forgotten. The
 * wrapped store only ever holds ciphertext, and `forgetSubject` destroys keys without touching a
 * stored event: a hash chain over what is stored stays intact. Build it with {@link protectPersonalData}.
 *
 * Append hooks (inline projections) are not offered through it: they would see ciphertext.
 */
/**
 * Capabilities of the wrapped store offered unchanged: timers (`openTimerStore`), the stream browser and
 * statistics (`StoreAdmin`), the hash chain (`openChainSnapshot`, which covers the stored ciphertext, and
 * EventStoreDB's per-stream chain: `surveyStreams`, `readStreamChain`, `checkStreamStart`, `chainLimits`) and
 * stream lifecycle. Importing (`importEvents`) is not: it would write unsealed data around the seal.
 */
const PASS_THROUGH = [
  'openTimerStore',
  'listStreams',
  'statistics',
  'openChainSnapshot',
  'surveyStreams',
  'readStreamChain',
  'checkStreamStart',
  'chainLimits',
  'setStreamMetadata',
  'getStreamMetadata',
  'deleteStream',
] as const;

export class PersonalDataStore implements EventStore, ReactorStateHost {
  private readonly specs = new Map<string, PersonalDataSpec>();

  constructor(
    /** The store that holds what is written: sealed values only. */
    readonly inner: EventStore,
    private readonly keys: KeyStore,
    catalogs: readonly EventCatalog[],
  ) {
    for (const catalog of catalogs) {
      for (const type of catalog.types) {
        const spec = catalog.personalData?.(type);
        if (!spec) continue;
        const known = this.specs.get(type);
        if (known && known !== spec) throw new TypeError(`two catalogs declare personal data for event type ${type}`);
        this.specs.set(type, spec);
      }
    }
    // The inner store's capabilities that never carry event data pass through, so engines and tools that
    // look for them (timers, the console's stream browser, verify, stream lifecycle) find them here too.
    for (const name of PASS_THROUGH) {
      const capability = (inner as unknown as Record<string, unknown>)[name];
      if (typeof capability === 'function') Object.defineProperty(this, name, { value: capability.bind(inner), enumerable: false });
    }
  }

  get backend(): EventStoreBackend {
    return this.inner.backend;
  }

  get capabilities(): StoreCapabilities {
    return this.inner.capabilities;
  }

  headPosition(): Promise<Position | undefined> {
    return this.inner.headPosition();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async appendToStream(streamName: string, events: readonly EventData[], options?: AppendOptions): Promise<AppendResult> {
    return this.inner.appendToStream(streamName, await this.sealAll(events), options);
  }

  readStream(streamName: string, options?: ReadStreamOptions): AsyncIterable<RecordedEvent> {
    return this.revealEach(() => this.inner.readStream(streamName, options));
  }

  readAll(options?: ReadAllOptions): AsyncIterable<RecordedEvent> {
    return this.revealEach(() => this.inner.readAll(options));
  }

  readCorrelation(correlationId: string): AsyncIterable<RecordedEvent> {
    return this.revealEach(() => this.inner.readCorrelation(correlationId));
  }

  /**
   * Reveals events read elsewhere, as stored (an archive's, through `withArchives`), as this store's reads
   * do: decrypted, or redacted once their subject is forgotten.
   */
  revealEvents(events: AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> {
    return this.revealEach(() => events);
  }

  /**
   * The wrapped store's lean fold pages; a page holding a sealed event is read again in full, since
   * opening a value needs its event's id.
   */
  readStreamForFold(streamName: string, options: ReadStreamForFoldOptions = {}): AsyncIterable<StreamFoldPage> {
    const inner = this.inner;
    if (!inner.readStreamForFold) return foldPagesFromReadStream(this, streamName, options);
    const asked = options.metadataKeys ?? [];
    const keepMarker = asked.includes(PERSONAL_DATA_KEY);
    const pages = inner.readStreamForFold(streamName, { ...options, metadataKeys: keepMarker ? asked : [...asked, PERSONAL_DATA_KEY] });
    const revealPage = async (page: StreamFoldPage, cache: KeyCache): Promise<StreamFoldPage> => {
      if (!page.events.some((event) => event.metadata[PERSONAL_DATA_KEY] !== undefined)) return page;
      const full: RecordedEvent[] = [];
      for await (const event of inner.readStream(streamName, { fromRevision: page.fromRevision, maxCount: page.events.length })) {
        full.push(await this.reveal(event, cache));
      }
      return {
        fromRevision: page.fromRevision,
        events: full.map((event) => ({ type: event.type, data: event.data, metadata: pick(event.metadata, asked) })),
        last: full[full.length - 1] ?? page.last,
      };
    };
    return {
      async *[Symbol.asyncIterator]() {
        const cache = new KeyCache();
        for await (const page of pages) {
          const revealed = await revealPage(page, cache);
          yield keepMarker ? revealed : { ...revealed, events: revealed.events.map((event) => ({ ...event, metadata: pick(event.metadata, asked) })) };
        }
      },
    };
  }

  subscribeToAll(options?: SubscribeToAllOptions): Subscription {
    return this.revealSubscription(this.inner.subscribeToAll(options));
  }

  subscribeToStream(streamName: string, options?: SubscribeToStreamOptions): Subscription {
    return this.revealSubscription(this.inner.subscribeToStream(streamName, options));
  }

  /**
   * The wrapped store's reactor bookkeeping, with parked events kept sealed: a parked copy of an event
   * is no plaintext copy of its personal data, and reads of it open (or redact) it like any read.
   * @throws InvalidReactorError for a durable store that keeps none (EventStoreDB).
   */
  async openReactorState(): Promise<ReactorStateStore> {
    return this.sealParked(await reactorStateStoreFor(this.inner));
  }

  /**
   * Forgets a data subject: destroys its keys (each key store makes sure no copy stays readable in its
   * files), then appends `SubjectForgotten` to `subject-<subjectId>` so that projections and reactors
   * remove what they derived. From then on every read gives the subject's personal fields as
   * `{ redacted: true, reason: 'forgotten' }`. Stored events are never changed. Safe to repeat.
   *
   * @example
   * const receipt = await store.forgetSubject('customer-42');
   * @throws InvalidSubjectError for an id that is not a non-empty string of at most 200 characters.
   */
  async forgetSubject(subjectId: string): Promise<ForgetReceipt> {
    checkSubjectId(subjectId, 'forgetSubject');
    // Keys first: should the append fail, a retry appends it; the data is unreadable either way.
    const keysDestroyed = await this.keys.destroy(subjectId);
    const streamName = subjectStreamName(subjectId);
    const { revision, position } = await this.inner.appendToStream(streamName, [
      { id: randomUUID(), type: SUBJECT_FORGOTTEN, data: { subjectId, keysDestroyed }, metadata: { time: new Date().toISOString() } },
    ]);
    return { subjectId, keysDestroyed, streamName, revision, position };
  }

  private async sealAll(events: readonly EventData[]): Promise<EventData[]> {
    const sealed: EventData[] = [];
    for (const event of events) {
      const spec = this.specs.get(event.type);
      if (!spec || event.data === null || typeof event.data !== 'object') {
        sealed.push(event);
        continue;
      }
      if (event.metadata?.[PERSONAL_DATA_KEY] !== undefined) {
        throw new InvalidSubjectError(`event ${event.id}: metadata.${PERSONAL_DATA_KEY} is reserved for sealed personal data`);
      }
      let subjectId: unknown;
      try {
        subjectId = spec.subjectOf(event.data);
      } catch (error) {
        throw new InvalidSubjectError(`event ${event.type}: its subject function threw: ${String(error)}`, { cause: error });
      }
      checkSubjectId(subjectId, `event ${event.type}`);
      sealed.push(sealEvent(event, spec.paths, await this.keys.keyFor(subjectId)));
    }
    return sealed;
  }

  private async reveal<Event extends RecordedEvent>(event: Event, cache?: KeyCache): Promise<Event> {
    const keyId = sealedKeyId(event.metadata);
    if (keyId === undefined) return event;
    let key = cache?.get(keyId);
    if (key === undefined) {
      key = (await this.keys.findKeys([keyId])).get(keyId) ?? null;
      cache?.set(keyId, key);
    }
    return revealEvent(event, key ?? undefined);
  }

  /** Finite reads remember the keys they looked up; a forget during such a read may not reach the read's later events. */
  private revealEach(read: () => AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent> {
    const reveal = (event: RecordedEvent, cache: KeyCache): Promise<RecordedEvent> => this.reveal(event, cache);
    return {
      async *[Symbol.asyncIterator]() {
        const cache = new KeyCache();
        for await (const event of read()) yield await reveal(event, cache);
      },
    };
  }

  /** Subscriptions live long: each event's key is looked up afresh, so a forget reaches the very next event. */
  private revealSubscription(subscription: Subscription): Subscription {
    const reveal = (event: RecordedEvent): Promise<RecordedEvent> => this.reveal(event);
    return {
      close: () => subscription.close(),
      async *[Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
        for await (const message of subscription) {
          yield message.kind === 'event' ? { kind: 'event', event: await reveal(message.event) } : message;
        }
      },
    };
  }

  private sealParked(state: ReactorStateStore): ReactorStateStore {
    const findKey = async (event: RecordedEvent): Promise<Uint8Array | undefined> => {
      const keyId = sealedKeyId(event.metadata);
      return keyId === undefined ? undefined : (await this.keys.findKeys([keyId])).get(keyId);
    };
    const reveal = <Parked extends { readonly event: RecordedEvent }>(parked: Parked): Promise<Parked> =>
      this.reveal(parked.event).then((event) => ({ ...parked, event }));
    const overrides: Partial<ReactorStateStore> = {
      park: async (records) =>
        state.park(await Promise.all(records.map(async (record) => ({ ...record, event: resealEvent(record.event, await findKey(record.event)) })))),
      listParked: async (query) => {
        const page = await state.listParked(query);
        return { ...page, items: await Promise.all(page.items.map(reveal)) };
      },
      parkedInStream: async (reactor, streamName) => Promise.all((await state.parkedInStream(reactor, streamName)).map(reveal)),
      redriveRequested: async (reactor, partitions, limit) => Promise.all((await state.redriveRequested(reactor, partitions, limit)).map(reveal)),
    };
    return new Proxy(state, {
      get(target, property, receiver) {
        if (Object.hasOwn(overrides, property)) return overrides[property as keyof ReactorStateStore];
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}

/**
 * Wraps a store so that the `personal()` fields of the given catalogs are encrypted at append
 * (AES-256-GCM, one key per data subject, held in `keys`) and decrypted on every read. Hand the
 * returned store to everything (commands, projections, reactors, the API); call `forgetSubject` on it.
 *
 * @example
 * const store = protectPersonalData(await connectEventStore('sqlite:./data/events.db'), {
 *   events: [orderEvents],
 *   keys: new SqliteKeyStore(sqlite.database),
 * });
 * await store.forgetSubject('customer-42');
 */
export function protectPersonalData(store: EventStore, options: PersonalDataOptions): PersonalDataStore {
  if (store instanceof PersonalDataStore) throw new TypeError('the store already protects personal data');
  return new PersonalDataStore(store, options.keys, options.events);
}

/** Keys found (or found missing: `null`) during one read. */
class KeyCache extends Map<string, Uint8Array | null> {
  override set(keyId: string, key: Uint8Array | null): this {
    if (this.size >= READ_KEY_CACHE) this.clear();
    return super.set(keyId, key);
  }
}

function pick(metadata: RecordedEvent['metadata'], keys: readonly string[]): RecordedEvent['metadata'] {
  const picked: Record<string, unknown> = {};
  for (const key of keys) if (metadata[key] !== undefined) picked[key] = metadata[key];
  return picked as RecordedEvent['metadata'];
}
