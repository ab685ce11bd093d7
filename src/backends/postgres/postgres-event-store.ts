import './transient-errors';
import pg from 'pg';
import type { ReactorStateStore } from '../../handlers/reactor-state-store';
import type { AppendHook, AppendHookHost } from '../../event-store/append-hook';
import type {
  AppendResult,
  Direction,
  EventFilter,
  ExpectedRevision,
  RecordedEvent,
  StreamFoldPage,
  StoreCapabilities,
} from '../../event-store/event-store';
import { PagedEventStore, type PagedEventStoreOptions, type StreamFoldStart } from '../../event-store/paged-event-store';
import type { FromPosition, Position } from '../../event-store/position';
import type { PreparedEvent } from '../../event-store/validation';
import {
  prepareImport,
  type EventImporter,
  type ImportCheckpoint,
  type ImportedEvent,
  type ImportResult,
  type ListStreamsOptions,
  type StoreAdmin,
  type StoreStatistics,
  type StreamSummary,
} from '../../event-store/store-admin';
import { importPostgresEvents, listPostgresStreams, postgresImportCheckpoint, postgresStatistics } from './postgres-store-admin';
import type { ChainSnapshot, HashChainedStore } from '../../event-store/hash-chain';
import { PostgresEventReads } from './event-reads';
import { openPostgresChainSnapshot, readStreamMetadataText, recordLifecycle } from './postgres-hash-chain';
import type { LifecycleAction } from '../../event-store/stream-lifecycle';
import { appendGroup, failGroup, isConstraintViolation, settleGroup, type AppendRow, type PendingAppend } from './group-append';
import { appendGroupWithHooks } from './hooked-group-append';
import { PostgresListener } from './listener';
import { SharedTailReads } from './shared-tail-reads';
import { migratePostgres } from './migrations';
import { createPool } from './pool';
import { PostgresTimerStore } from './postgres-timer-store';
import type { TimerStore } from '../../handlers/timer-store';
import { PostgresReactorStateStore } from './postgres-reactor-state-store';
import type { KeyStore } from '../../personal-data/key-store';
import { PostgresKeyStore } from './postgres-key-store';
import { MIGRATIONS } from './postgres-schema';
import { storeUnavailable } from './store-unavailable';

export interface PostgresEventStoreOptions extends PagedEventStoreOptions {
  /** Connections in the pool. Default 10. */
  readonly poolSize?: number;
  /**
   * Group commits in flight at once; more overlaps round trips, fewer makes bigger groups. Default 2.
   * Group commits run on connections of their own (this many, besides `poolSize`), so an append never
   * waits for a connection behind reads.
   */
  readonly maxConcurrentCommits?: number;
  /** Most events in one group commit (a single larger append still goes alone). Default 5,000. */
  readonly maxGroupEvents?: number;
}

/** The channel `eventfold_append` notifies on when it commits events. */
const CHANNEL = 'eventfold_events';

/**
 * PostgreSQL backend: shared by many API and worker processes. It creates or migrates its schema,
 * appends many concurrent appends in one round trip and one commit (group commit), wakes subscribers
 * with LISTEN/NOTIFY (and polls as a fallback), and is gap-safe: see `postgres-schema.ts`.
 *
 * @example
 * const store = await PostgresEventStore.connect('postgres://user:pw@127.0.0.1:5432/app');
 */
export class PostgresEventStore extends PagedEventStore implements AppendHookHost, StoreAdmin, EventImporter, HashChainedStore {
  readonly backend = 'postgres' as const;
  readonly capabilities: StoreCapabilities = { durable: true, sequencePositions: true };
  private pending: PendingAppend[] = [];
  private readonly hooks = new Set<AppendHook>();
  private commitsInFlight = 0;
  private readonly maxConcurrentCommits: number;
  private readonly maxGroupEvents: number;
  private readonly reads: PostgresEventReads;
  /** Forwards `$all` reads of the same turn (the subscribers one commit woke) share one statement. */
  private readonly tailReads: SharedTailReads;
  private listener: PostgresListener | undefined;
  /** `wakeForHiddenEvents`: the one pending wake for all readers, its backoff, and when it was set. */
  private hiddenWakeTimer: NodeJS.Timeout | undefined;
  private hiddenBackoffMs = 0;
  private hiddenWakeAt = 0;

  private constructor(
    /** The connection pool; read models in the same database may use it (inline projections, snapshots). */
    readonly pool: pg.Pool,
    /** The group commits' own connections (`maxConcurrentCommits`), so that appends never queue behind reads. */
    private readonly commitPool: pg.Pool,
    options: PostgresEventStoreOptions,
  ) {
    super(options, 500);
    this.maxConcurrentCommits = options.maxConcurrentCommits ?? 2;
    this.maxGroupEvents = options.maxGroupEvents ?? 5_000;
    this.reads = new PostgresEventReads(pool);
    this.tailReads = new SharedTailReads(async (after, limit, filter) => {
      const page = await this.reads.allPageForwards(after, limit, filter);
      this.wakeForHiddenEvents(page.hidden);
      return page;
    });
  }

  /** The reactor bookkeeping in this store's database (checkpoints, parked events, leases). */
  openReactorState(): Promise<ReactorStateStore> {
    return PostgresReactorStateStore.create(this.pool);
  }

  /** The timers in this store's database (see `context.schedule`). */
  openTimerStore(): Promise<TimerStore> {
    return PostgresTimerStore.create(this.pool);
  }

  /** Streams by name (`eventfold streams list`, the console); see {@link StoreAdmin}. */
  listStreams(options?: ListStreamsOptions): Promise<readonly StreamSummary[]> {
    this.assertOpen();
    return listPostgresStreams(this.pool, options);
  }

  statistics(): Promise<StoreStatistics> {
    this.assertOpen();
    return postgresStatistics(this.pool);
  }

  /** Imports recorded events as they are (`eventfold copy`); see {@link EventImporter}. */
  async importEvents(events: readonly ImportedEvent[], checkpoint: ImportCheckpoint): Promise<ImportResult> {
    this.assertOpen();
    const result = await importPostgresEvents(this.pool, prepareImport(events, this.limits, checkpoint), checkpoint);
    if (result.imported > 0) this.signal.notify();
    return result;
  }

  importCheckpoint(source: string): Promise<ImportCheckpoint | undefined> {
    this.assertOpen();
    return postgresImportCheckpoint(this.pool, source);
  }

  /** The subjects' keys (crypto-shredding) in this store's database. */
  openKeyStore(): Promise<KeyStore> {
    return PostgresKeyStore.create(this.pool);
  }

  /** Connects, migrates the schema if needed, and starts listening for new events. */
  static async connect(connectionString: string, options: PostgresEventStoreOptions = {}): Promise<PostgresEventStore> {
    const pool = createPool(connectionString, options.poolSize ?? 10);
    const commitPool = createPool(connectionString, options.maxConcurrentCommits ?? 2);
    const ownSenders = new Set<number>();
    trackServerProcesses(pool, ownSenders);
    trackServerProcesses(commitPool, ownSenders);
    try {
      await migratePostgres(pool, { table: 'eventfold_schema', steps: MIGRATIONS });
    } catch (error) {
      await Promise.all([pool.end(), commitPool.end()]).catch(() => undefined);
      throw storeUnavailable('cannot prepare the PostgreSQL event store', error);
    }
    const store = new PostgresEventStore(pool, commitPool, options);
    // Until the listener is (back) up, subscribers still poll; once it is back, they are woken in case
    // they missed a notification.
    store.listener = await PostgresListener.start({
      connection: { connectionString },
      channel: CHANNEL,
      retryDelayMs: 1_000,
      firstFailure: 'retry',
      // Every append through the pool wakes this store's readers in memory as it returns (see
      // `appendToStream`); the NOTIFY of the same commit would wake them all a second time, for reads
      // that find nothing new.
      ignoreSenders: ownSenders,
      onNotification: () => store.signal.notify(),
      onReconnect: () => store.signal.notify(),
    });
    return store;
  }

  protected appendPrepared(
    streamName: string,
    events: readonly PreparedEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ streamName, events, expected, resolve, reject });
      this.commitNext();
    });
  }

  /**
   * Runs `hook` in every append transaction from now on (inline projections); see {@link AppendHook}.
   * While any hook is registered, group commits take one advisory lock and so run one at a time.
   * The returned function removes it.
   */
  addAppendHook(hook: AppendHook): () => void {
    this.assertOpen();
    this.hooks.add(hook);
    return () => {
      this.hooks.delete(hook);
    };
  }

  /** Starts a group commit when a slot is free; while one is in flight, new appends queue up and go together. */
  private commitNext(): void {
    while (this.commitsInFlight < this.maxConcurrentCommits && this.pending.length > 0) {
      const group: PendingAppend[] = [];
      let events = 0;
      while (this.pending.length > 0) {
        const next = this.pending[0]!;
        if (group.length > 0 && events + next.events.length > this.maxGroupEvents) break;
        group.push(this.pending.shift()!);
        events += next.events.length;
      }
      this.commitsInFlight++;
      void this.commitGroup(group).finally(() => {
        this.commitsInFlight--;
        this.commitNext();
      });
    }
  }

  private async commitGroup(group: readonly PendingAppend[]): Promise<void> {
    if (this.hooks.size > 0) return appendGroupWithHooks(this.commitPool, group, [...this.hooks]);
    let rows: AppendRow[];
    try {
      // One statement on the pool is one transaction: no explicit BEGIN, one round trip.
      rows = await appendGroup(group, this.commitPool);
    } catch (error) {
      if (group.length > 1 && isConstraintViolation(error)) {
        // One append in the group broke a constraint and took the group's transaction with it:
        // run each alone so that only the offender fails.
        await Promise.all(group.map((append) => this.commitGroup([append])));
        return;
      }
      // The commit may have gone through before the connection failed, and its NOTIFY came from one of
      // this pool's own connections, which the listener drops: wake the readers here instead.
      this.signal.notify();
      await failGroup(this.pool, group, error);
      return;
    }
    await settleGroup(this.pool, group, rows);
  }

  protected readStreamPage(streamName: string, from: bigint, direction: Direction, limit: number): Promise<readonly RecordedEvent[]> {
    return this.reads.streamPage(streamName, from, direction, limit);
  }

  /** The lifecycle metadata and the first page of a fold in one round trip (the command path's load). */
  protected override readStreamFoldStart(streamName: string, from: bigint, limit: number, metadataKeys: readonly string[]): Promise<StreamFoldStart> {
    return this.reads.streamFoldStart(streamName, from, limit, metadataKeys);
  }

  protected override readStreamFoldPage(
    streamName: string,
    from: bigint,
    limit: number,
    metadataKeys: readonly string[],
  ): Promise<StreamFoldPage | undefined> {
    return this.reads.streamFoldPage(streamName, from, limit, metadataKeys);
  }

  protected async readAllPage(
    after: FromPosition,
    direction: Direction,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<readonly RecordedEvent[]> {
    if (direction === 'backwards') return this.reads.allPageBackwards(after, limit, filter);
    if (after === 'end') return [];
    return (await this.tailReads.read(after, limit, filter)).events;
  }

  /**
   * A reader that reached the visible head learns, from the same read, whether committed events lie
   * beyond it anyway. That happens when an older transaction was still running as it read (events are
   * only read below every running transaction: see postgres-schema.ts); when that transaction wrote no
   * events (a read-model batch, a reactor checkpoint), no notification follows its end, and the reader
   * would sleep until its poll. While such events exist, readers are woken again after a short backoff
   * (1, 2, 4 … ms, at most the poll interval), so a workflow's next step never waits for the poll.
   */
  private wakeForHiddenEvents(hidden: boolean): void {
    const now = performance.now();
    if (!hidden) {
      // Another reader's events may still be hidden: the backoff starts over only after a quiet spell.
      if (now - this.hiddenWakeAt > 100) this.hiddenBackoffMs = 0;
      return;
    }
    // One wake serves every reader: each reads again and checks again.
    if (this.hiddenWakeTimer !== undefined || this.isClosed) return;
    this.hiddenBackoffMs = Math.min(Math.max(1, this.hiddenBackoffMs * 2), this.pollIntervalMs);
    this.hiddenWakeAt = now;
    this.hiddenWakeTimer = setTimeout(() => {
      this.hiddenWakeTimer = undefined;
      this.signal.notify();
    }, this.hiddenBackoffMs);
  }

  protected readCorrelationPage(correlationId: string, after: Position | 'start', limit: number): Promise<readonly RecordedEvent[]> {
    return this.reads.correlationPage(correlationId, after, limit);
  }

  protected streamRevision(streamName: string): Promise<bigint> {
    return this.reads.streamRevision(streamName);
  }

  /** A consistent, read-only view of the hash chain, for `verifyStore` and audit exports. */
  openChainSnapshot(): Promise<ChainSnapshot> {
    this.assertOpen();
    return openPostgresChainSnapshot(this.pool);
  }

  protected readStreamMetadataText(streamName: string): Promise<string | undefined> {
    return readStreamMetadataText(this.pool, streamName);
  }

  protected recordLifecycle(streamName: string, action: LifecycleAction, next: (current: string | undefined, revision: bigint) => string): Promise<void> {
    return recordLifecycle(this.pool, streamName, action, next);
  }

  async headPosition(): Promise<Position | undefined> {
    this.assertOpen();
    return this.reads.headPosition();
  }

  protected async closeBackend(): Promise<void> {
    while (this.pending.length > 0 || this.commitsInFlight > 0) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.listener?.stop();
    clearTimeout(this.hiddenWakeTimer);
    await Promise.all([this.pool.end(), this.commitPool.end()]);
  }
}

/** Keeps `processIds` up to date with the server process ids of a pool's open connections. */
function trackServerProcesses(pool: pg.Pool, processIds: Set<number>): void {
  const processIdOf = (client: pg.PoolClient): unknown => (client as pg.PoolClient & { processID?: unknown }).processID;
  pool.on('connect', (client) => {
    const processId = processIdOf(client);
    if (typeof processId === 'number') processIds.add(processId);
  });
  pool.on('remove', (client) => {
    const processId = processIdOf(client);
    if (typeof processId === 'number') processIds.delete(processId);
  });
}
