import type { RecordedEvent } from '../event-store/event-store';
import { InvalidReactorError } from './errors';
import type { Position } from '../event-store/position';
import type { ReactorErrorInfo } from './errors';

/** What is stored when an event is parked. */
export interface ParkedEventRecord {
  readonly reactor: string;
  readonly event: RecordedEvent;
  readonly partition: number;
  readonly status: 'parked' | 'waiting';
  /** Attempts made (0 for a waiting event). */
  readonly attempts: number;
  /** Why it was parked (the last attempt's error, or which parked event it waits behind). */
  readonly error: ReactorErrorInfo;
  readonly parkedAt: Date;
}

/**
 * An event a reactor could not handle, kept with its reason until it is redriven. `waiting` events are
 * later events of a `per-stream` reactor's stream, stored behind a parked one (nothing was tried yet).
 * The flat fields repeat the event's for listings.
 */
export interface ParkedEvent extends ParkedEventRecord {
  readonly eventId: string;
  readonly eventType: string;
  readonly streamName: string;
  /** The event's position, serialised. */
  readonly position: string;
  /** The error's message. */
  readonly reason: string;
  /** A redrive was asked for and the worker holding its partition has not run it yet. */
  readonly redriveRequested: boolean;
}

/** Adds the listing fields to a stored record. */
export function parkedEvent(record: ParkedEventRecord, redriveRequested: boolean): ParkedEvent {
  return {
    ...record,
    eventId: record.event.id,
    eventType: record.event.type,
    streamName: record.event.streamName,
    position: record.event.position.toString(),
    reason: record.error.message,
    redriveRequested,
  };
}

/** One page of parked events. */
export interface ParkedPage {
  readonly items: readonly ParkedEvent[];
  /** Pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * One attempt to handle an event, as kept in the invocation log.
 *
 * @example
 * const [latest] = await runner.invocations({ reactor: 'payment', limit: 1 });
 * console.log(latest?.outcome, latest?.durationMs, latest?.error?.message);
 */
export interface Invocation {
  readonly reactor: string;
  readonly eventId: string;
  readonly streamName: string;
  readonly position: string;
  readonly attempt: number;
  /** `retrying`: failed, another attempt follows; `parked`: failed for the last time. */
  readonly outcome: 'succeeded' | 'retrying' | 'parked';
  readonly durationMs: number;
  readonly error?: ReactorErrorInfo;
  readonly at: Date;
  readonly workerId: string;
}

export interface ParkedQuery {
  readonly reactor?: string;
  readonly streamName?: string;
  /** Default 100, at most 10,000. */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly after?: string;
}

export interface InvocationQuery {
  readonly reactor?: string;
  /** Without `position` this reads the log newest first until `limit` matches (no index on event ids). */
  readonly eventId?: string;
  /** The event's serialised position: an indexed lookup. */
  readonly position?: string;
  /** Newest first. Default 100, at most 10,000. */
  readonly limit?: number;
}

/**
 * Which parked events of a reactor to send through their handler again: some (`eventId`, `eventIds`),
 * a stream's (`streamName`), or — when none of these is given, or with `all: true` — all of them.
 */
export interface RedriveParkedRequest {
  readonly reactor: string;
  readonly eventId?: string;
  readonly eventIds?: readonly string[];
  readonly streamName?: string;
  readonly all?: boolean;
  /** Most events marked, oldest first. Default 1,000. */
  readonly limit?: number;
}

/**
 * A worker's claim on a partition, fenced by time.
 *
 * @example
 * for (const lease of await state.listLeases('default')) console.log(lease.partition, lease.owner, lease.expiresAt);
 */
export interface LeaseInfo {
  readonly partition: number;
  readonly owner: string | undefined;
  readonly expiresAt: Date | undefined;
}

/** Who is alive in a worker group, and what each one holds. */
export interface LeaseGrant {
  /** Partitions this worker holds after the call. */
  readonly held: readonly number[];
  /** Live workers in the group (this one included). */
  readonly liveWorkers: number;
}

/**
 * Where reactors keep their bookkeeping, in the event store's own database: checkpoints per
 * (reactor, partition), parked events, the invocation log and partition leases. Implementations:
 * in memory, SQLite (the store's file) and PostgreSQL (the store's pool), each with versioned
 * migrations. The runner picks one from the store; pass one to share it differently.
 */
export interface ReactorStateStore {
  /** Which backend keeps it, for messages: the runner asks `shared` and `singleWriter`. */
  readonly backend: string;
  /** Whether several processes may share it (leases then decide who runs which partition). */
  readonly shared: boolean;
  /** One writer at a time (a SQLite file): a worker takes every partition instead of a fair share. */
  readonly singleWriter: boolean;

  /** Makes sure the group has `count` partitions; a different existing count is an error. */
  preparePartitions(group: string, count: number): Promise<void>;
  /**
   * One lease round: records this worker as alive, renews the leases it still holds, then takes free
   * or expired ones until it holds `want(liveWorkers)`. Times are the database's.
   */
  claimLeases(group: string, workerId: string, ttlMs: number, want: (liveWorkers: number) => number): Promise<LeaseGrant>;
  releaseLeases(group: string, workerId: string, partitions: readonly number[]): Promise<void>;
  /** Ends this worker's membership and releases all its leases. */
  leaveGroup(group: string, workerId: string): Promise<void>;
  listLeases(group: string): Promise<LeaseInfo[]>;

  loadCheckpoints(reactor: string): Promise<Map<number, Position>>;
  /**
   * Positions of events recorded as handled (with the timers their handlers changed, see
   * `TimerStore.progressWriter`) that the checkpoints of these partitions have not passed yet, oldest
   * first, at most `limit`. A store that records none may leave it out.
   */
  handledAfterCheckpoints?(reactor: string, partitions: readonly number[], limit: number): Promise<string[]>;
  /**
   * Saves checkpoints (and forgets the handled records they pass). With a fence, only partitions whose lease `workerId` still holds are written;
   * the others are returned (lost).
   */
  saveCheckpoints(
    reactor: string,
    checkpoints: ReadonlyMap<number, Position>,
    fence: { readonly group: string; readonly workerId: string } | undefined,
  ): Promise<number[]>;

  /** Stores parked or waiting events; an event already stored for the reactor is left as it is. */
  park(events: readonly ParkedEventRecord[]): Promise<void>;
  /** Updates a parked event after another failed attempt (a redrive that failed again). */
  repark(reactor: string, eventId: string, attempts: number, error: ReactorErrorInfo): Promise<void>;
  removeParked(reactor: string, eventId: string): Promise<void>;
  /** Oldest first (position, then reactor), after the `after` cursor. */
  listParked(query: ParkedQuery): Promise<ParkedPage>;
  /** Every stored event of one reactor's stream, in position order. */
  parkedInStream(reactor: string, streamName: string): Promise<ParkedEvent[]>;
  /** Streams with parked or waiting events, among the given partitions. */
  blockedStreams(reactor: string, partitions: readonly number[]): Promise<string[]>;
  countParked(reactor: string): Promise<{ parked: number; waiting: number }>;
  /** Marks parked events for redrive; returns how many. */
  requestRedrive(request: RedriveParkedRequest): Promise<number>;
  /** Parked events marked for redrive, among the given partitions, oldest first. */
  redriveRequested(reactor: string, partitions: readonly number[], limit: number): Promise<ParkedEvent[]>;

  recordInvocations(invocations: readonly Invocation[]): Promise<void>;
  listInvocations(query: InvocationQuery): Promise<Invocation[]>;
  /**
   * Deletes invocations recorded before `before`, a flush at a time (attempts are stored in one row per
   * flush); returns how many rows went.
   */
  pruneInvocations(before: Date): Promise<number>;

  close(): Promise<void>;
}

const CURSOR = /^([0-9a-f]{32}):(.+)$/;

/** The `next` cursor after a parked event. */
export function parkedCursor(parked: ParkedEvent): string {
  return `${parked.position}:${parked.reactor}`;
}

/** Reads an `after` cursor; undefined when none was given. */
export function parseParkedCursor(after: string | undefined): { position: string; reactor: string } | undefined {
  if (after === undefined) return undefined;
  const match = typeof after === 'string' ? CURSOR.exec(after) : null;
  if (!match) throw new InvalidReactorError(`after ${JSON.stringify(after)} is not a cursor from a previous page`);
  return { position: match[1]!, reactor: match[2]! };
}

/** A page from rows fetched with one more than the limit. */
export function pageOf(rows: readonly ParkedEvent[], limit: number): ParkedPage {
  const items = rows.slice(0, limit);
  return rows.length > limit && items.length > 0 ? { items, next: parkedCursor(items[items.length - 1]!) } : { items };
}

/** The ids a redrive names, or undefined for "not by id". */
export function redriveIds(request: RedriveParkedRequest): string[] | undefined {
  if (request.eventId === undefined && request.eventIds === undefined) return undefined;
  return [...(request.eventId !== undefined ? [request.eventId] : []), ...(request.eventIds ?? [])];
}
