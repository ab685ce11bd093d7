import type { CommandEnvironment } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { EventStore } from '../event-store/event-store';
import type { Logger } from '../internal/logger';
import type { Clock } from './clock';
import { InvalidReactorError } from './errors';
import { InMemoryTimerStore } from './in-memory-timer-store';
import { TimerScheduler, type SchedulingEvent } from './timer-scheduler';
import type { ReactorStateStore } from './reactor-state-store';
import { lastChangePerKey, type HandledEvent, type TimerChange, type TimerStore } from './timer-store';
import { TimerWheel, type TimerOwner } from './timer-wheel';
import { WriteBatcher } from './write-batcher';

/** An aggregate of any messages, as the runner's `aggregates` list takes them. */
export type AnyAggregate = Aggregate<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any aggregate's commands

/** What a handler's context needs to set timers: a scheduler per attempt, and the write after success. */
export interface TimerScheduling {
  scheduler(reactor: string, event: SchedulingEvent, partition: number): TimerScheduler;
  /**
   * Writes a successful handler's changes. With `handled` (a live event) and stores that share a
   * database, the event is recorded as handled in the same transaction (see {@link TimerRuntime}).
   */
  commit(changes: readonly TimerChange[], handled?: HandledEvent, event?: SchedulingEvent): Promise<void>;
  /** Whether handled events are recorded with their timers: a session then skips those it finds recorded. */
  readonly recordsProgress: boolean;
}

/** One handler's changes and the event they were made for. */
interface ProgressItem {
  readonly changes: readonly TimerChange[];
  readonly handled: HandledEvent;
}

/** A store whose database also keeps timers (SQLite, PostgreSQL). */
export interface TimerStoreHost {
  openTimerStore(): Promise<TimerStore>;
}

const memoryTimers = new WeakMap<EventStore, InMemoryTimerStore>();

/**
 * The timers that live with a store: a table in its own database, or memory for as long as a
 * non-durable store lives; undefined for a store that keeps none (EventStoreDB: pass `timers`).
 *
 * @example
 * const timers = await timerStoreFor(store);
 */
export async function timerStoreFor(store: EventStore): Promise<TimerStore | undefined> {
  if (typeof (store as Partial<TimerStoreHost>).openTimerStore === 'function') return (store as unknown as TimerStoreHost).openTimerStore();
  if (!store.capabilities.durable) {
    let timers = memoryTimers.get(store);
    if (!timers) memoryTimers.set(store, (timers = new InMemoryTimerStore()));
    return timers;
  }
  return undefined;
}

/**
 * The runner's timers: the store, the wheel that fires them, and the aggregates they may command.
 *
 * When the timer store and the reactor state store share a database (the default on SQLite and
 * PostgreSQL), a live event's timer changes and its record as handled commit in one transaction: after
 * a crash, either both are there (the redelivered event is skipped) or neither (it is handled again), so
 * a redelivered event never schedules twice, even when its handler would choose another key. Otherwise
 * (separate databases, memory) the changes are written alone and the version rule keeps a redelivered
 * event from setting a timer twice under the same key.
 */
export class TimerRuntime implements TimerScheduling {
  readonly owners = new Map<string, TimerOwner>();
  readonly wheel: TimerWheel | undefined;
  private readonly aggregates: ReadonlyMap<string, Aggregate<Message, Message, unknown>>;
  /** Handlers finishing together write their timers in one transaction (one fsync, not one each). */
  private readonly writes: WriteBatcher<TimerChange> | undefined;
  /** Timer changes with the progress of their events, when the stores share a database. */
  private readonly progress: WriteBatcher<ProgressItem> | undefined;

  constructor(
    readonly store: TimerStore | undefined,
    state: ReactorStateStore,
    settings: {
      readonly clock: Clock;
      readonly commands: CommandEnvironment;
      readonly aggregates: readonly AnyAggregate[];
      readonly workerId: string;
      readonly logger: Logger;
      readonly random: () => number;
    },
  ) {
    const aggregates = new Map<string, Aggregate<Message, Message, unknown>>();
    for (const aggregate of settings.aggregates as readonly unknown[] as readonly Aggregate<Message, Message, unknown>[]) {
      if (typeof aggregate?.category !== 'string' || typeof aggregate.parseCommand !== 'function') {
        throw new InvalidReactorError('options.aggregates must be aggregates (defineAggregate)');
      }
      if (aggregates.has(aggregate.category)) throw new InvalidReactorError(`two aggregates of category "${aggregate.category}" in options.aggregates`);
      aggregates.set(aggregate.category, aggregate);
    }
    this.aggregates = aggregates;
    this.wheel = store ? new TimerWheel({ ...settings, store, aggregates, owners: this.owners }) : undefined;
    this.writes = store ? new WriteBatcher((changes) => store.applyTimerChanges(changes)) : undefined;
    const writer = store && typeof state.handledAfterCheckpoints === 'function' ? store.progressWriter?.(state) : undefined;
    this.progress = writer
      ? new WriteBatcher<ProgressItem>(
          (items) => writer(items.flatMap((item) => item.changes), items.map((item) => item.handled)),
          // One event whose record cannot be written must not fail the others written with it.
          { isolateFailures: true },
        )
      : undefined;
  }

  get recordsProgress(): boolean {
    return this.progress !== undefined;
  }

  scheduler(reactor: string, event: SchedulingEvent, partition: number): TimerScheduler {
    return new TimerScheduler(reactor, event, partition, this.store ? this.aggregates : undefined);
  }

  async commit(changes: readonly TimerChange[], handled?: HandledEvent, event?: SchedulingEvent): Promise<void> {
    if (!this.writes) return;
    const latest = lastChangePerKey(changes);
    const timer = firedBy(event);
    if (timer && latest.some((change) => change.kind === 'cancel' && change.reactor === timer.reactor && change.key === timer.key)) {
      await this.wheel?.afterSending(timer.reactor, timer.key);
    }
    if (this.progress && handled) await this.progress.add([{ changes: latest, handled }]);
    else await this.writes.add(latest);
    void this.wheel?.wake();
  }

  /** The store, or a clear error when this runner has none. */
  requireStore(): TimerStore {
    if (!this.store) throw new InvalidReactorError('this runner keeps no timers (pass options.timers for this store)');
    return this.store;
  }
}

/** The timer whose command recorded this event (`metadata.timer`, see timer-wheel.ts), if one did. */
function firedBy(event: SchedulingEvent | undefined): { reactor: string; key: string } | undefined {
  const timer = (event?.metadata as { timer?: { reactor?: unknown; key?: unknown } } | undefined)?.timer;
  return typeof timer?.reactor === 'string' && typeof timer.key === 'string' ? { reactor: timer.reactor, key: timer.key } : undefined;
}
