import type { AnyAggregate } from './timer-runtime';
import type { Clock } from './clock';
import type { TimerStore } from './timer-store';
import type { CommandEnvironment } from '../commands/handle-command';
import type { EventStore } from '../event-store/event-store';
import type { ReactorErrorInfo } from './errors';
import type { Reactor, ReactorLogger } from './reactor';
import type { ParkedEvent, ReactorStateStore } from './reactor-state-store';

/**
 * How reactors run in this process.
 *
 * @example
 * const runner = await ReactorRunner.start({
 *   store,
 *   reactors: [assignDriver, payment],
 *   commands: { store, cache: new StateCache() },
 *   partitions: { count: 16, leaseMs: 10_000 },
 * });
 */
export interface ReactorRunnerOptions {
  readonly store: EventStore;
  readonly reactors: readonly Reactor[];
  /** Where `context.send` runs commands. Default `{ store }`. */
  readonly commands?: CommandEnvironment;
  /**
   * Where checkpoints, parked events, the invocation log and leases live. Default: tables in the
   * store's own database (SQLite: its file; PostgreSQL: its pool; memory: in memory).
   */
  readonly state?: ReactorStateStore;
  /** Names this process in leases and the invocation log. Default `<host>-<pid>-<random>`. */
  readonly workerId?: string;
  readonly partitions?: PartitionOptions;
  /** How often finished work is checkpointed. Default 100 ms. */
  readonly checkpointIntervalMs?: number;
  /** Most events read ahead per reactor (queued plus running). Default 4,096. */
  readonly bufferSize?: number;
  /** How often redrive requests made by other processes are looked for. Default 1,000 ms. */
  readonly redrivePollMs?: number;
  readonly invocationLog?: InvocationLogOptions;
  readonly logger?: ReactorLogger;
  /** Uniform in [0, 1), for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** The aggregates that timers (`context.schedule`) may send commands to. */
  readonly aggregates?: readonly AnyAggregate[];
  /** Where timers live. Default: a table in the store's own database (memory for the in-memory store). */
  readonly timers?: TimerStore;
  /** The time timers are due by, and their wake-ups. Default: the system clock; tests pass a `ManualClock`. */
  readonly clock?: Clock;
}

/**
 * Work is split into partitions by a hash of the stream name. On a shared store (PostgreSQL) each
 * worker leases a fair share; a worker that dies loses its leases after `leaseMs` and the others take
 * over from the checkpoints. SQLite runs one worker (it takes every partition); memory needs no leases.
 */
export interface PartitionOptions {
  /** Fixed for a group once chosen. Default 16. */
  readonly count?: number;
  /** Default 10,000 ms; renewed every third of it. */
  readonly leaseMs?: number;
  /** Workers of one group share partitions. Default `default`. */
  readonly group?: string;
}

export interface InvocationLogOptions {
  /** Attempts older than this are deleted. Default 7 days. */
  readonly retentionMs?: number;
}

/**
 * Where one reactor stands in this worker. The first fields are what an admin screen shows; the
 * others are details.
 */
export interface ReactorStatus {
  readonly name: string;
  /** `running`, `stopped`, or `waiting` for partitions (other workers hold them all). */
  readonly state: 'running' | 'waiting' | 'stopped';
  /**
   * The lowest stored checkpoint over all partitions (a serialised position): everything up to it is
   * finished. Undefined until every partition has one.
   */
  readonly position: string | undefined;
  /**
   * Events in the store after the lowest position this worker has finished in every partition (stored
   * checkpoints, or newer finished work), counting every event type; undefined when the store's
   * positions are not sequences (EventStoreDB).
   */
  readonly lagEvents: number | undefined;
  /**
   * How long ago the first event of the reactor's types after that position was recorded, in ms; 0
   * when there is none. An upper bound: partitions ahead of the lowest may have handled it.
   */
  readonly lagMs: number;
  /** Stored parked events (all partitions). */
  readonly parkedCount: number;
  /** The last failed attempt's message, since this runner started. */
  readonly lastError: string | undefined;
  readonly kind: 'function' | 'webhook';
  readonly ordering: 'per-stream' | 'unordered';
  /** Events stored behind parked ones (`per-stream`, `whenStreamBlocked: 'wait'`). */
  readonly waitingCount: number;
  /** Stored checkpoints of every partition (`undefined`: nothing handled there yet). */
  readonly checkpoints: readonly { readonly partition: number; readonly position: string | undefined }[];
  readonly inFlight: number;
  readonly queued: number;
  /** Since this runner started. */
  readonly handled: number;
  readonly failedAttempts: number;
  readonly lastFailure?: { readonly at: Date; readonly eventId: string; readonly error: ReactorErrorInfo };
}

export type { ParkedEvent };

/** Partitions held by this worker, for status screens. */
export interface WorkerStatus {
  readonly workerId: string;
  readonly group: string;
  readonly partitionCount: number;
  readonly heldPartitions: readonly number[];
}
