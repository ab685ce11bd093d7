import type { CommandEnvironment } from '../commands/handle-command';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { EventStore } from '../event-store/event-store';
import type { Logger } from '../internal/logger';
import type { Clock } from './clock';
import { InvalidReactorError } from './errors';
import { InMemoryTimerStore } from './in-memory-timer-store';
import { TimerScheduler, type SchedulingEvent } from './timer-scheduler';
import { lastChangePerKey, type TimerChange, type TimerStore } from './timer-store';
import { TimerWheel, type TimerOwner } from './timer-wheel';
import { WriteBatcher } from './write-batcher';

/** An aggregate of any messages, as the runner's `aggregates` list takes them. */
export type AnyAggregate = Aggregate<any, any, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- any aggregate's commands

/** What a handler's context needs to set timers: a scheduler per attempt, and the write after success. */
export interface TimerScheduling {
  scheduler(reactor: string, event: SchedulingEvent, partition: number): TimerScheduler;
  commit(changes: readonly TimerChange[]): Promise<void>;
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

/** The runner's timers: the store, the wheel that fires them, and the aggregates they may command. */
export class TimerRuntime implements TimerScheduling {
  readonly owners = new Map<string, TimerOwner>();
  readonly wheel: TimerWheel | undefined;
  private readonly aggregates: ReadonlyMap<string, Aggregate<Message, Message, unknown>>;
  /** Handlers finishing together write their timers in one transaction (one fsync, not one each). */
  private readonly writes: WriteBatcher<TimerChange> | undefined;

  constructor(
    readonly store: TimerStore | undefined,
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
  }

  scheduler(reactor: string, event: SchedulingEvent, partition: number): TimerScheduler {
    return new TimerScheduler(reactor, event, partition, this.store ? this.aggregates : undefined);
  }

  async commit(changes: readonly TimerChange[]): Promise<void> {
    if (!this.writes) return;
    await this.writes.add(lastChangePerKey(changes));
    void this.wheel?.wake();
  }

  /** The store, or a clear error when this runner has none. */
  requireStore(): TimerStore {
    if (!this.store) throw new InvalidReactorError('this runner keeps no timers (pass options.timers for this store)');
    return this.store;
  }
}
