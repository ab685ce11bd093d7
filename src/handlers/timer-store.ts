import { v5 as uuidV5 } from 'uuid';
import type { JsonObject } from '../event-store/event-store';
import { InvalidReactorError, type ReactorErrorInfo } from './errors';
import type { ReactorStateStore } from './reactor-state-store';

/**
 * A command to send later, as stored: the reactor that set it, its key, when it is due, and the command
 * itself (the aggregate by its category: the runner's `aggregates` turn it back into code).
 */
export interface TimerRecord {
  readonly reactor: string;
  readonly key: string;
  /** The partition of the event that set it: the worker holding that partition fires it. */
  readonly partition: number;
  readonly dueAt: Date;
  readonly aggregate: string;
  readonly streamName: string;
  readonly command: JsonObject & { readonly type: string };
  readonly userId?: string;
  readonly tenantId?: string;
  readonly metadata?: JsonObject;
  /** The event that set it (correlation and causation flow on from it). */
  readonly causedBy: { readonly id: string; readonly metadata: JsonObject };
  /**
   * The serialised position of the event that last changed it. A change from an event at or before it
   * is ignored: a redelivered or late event never sets a timer twice nor revives a cancelled one.
   */
  readonly version: string;
}

/** What happened to a timer: waiting, sent, cancelled, or parked after every attempt failed. */
export type TimerStatus = 'pending' | 'fired' | 'cancelled' | 'parked';

/** A timer with where it stands. */
export interface StoredTimer extends TimerRecord {
  readonly status: TimerStatus;
  readonly attempts: number;
  readonly error?: ReactorErrorInfo;
  /** When it was sent, cancelled or parked. */
  readonly settledAt?: Date;
}

/** One change a handler made: set (or replace) a timer, or cancel one; versioned by the event's position. */
export type TimerChange =
  | { readonly kind: 'set'; readonly timer: TimerRecord }
  | { readonly kind: 'cancel'; readonly reactor: string; readonly key: string; readonly partition: number; readonly version: string };

/**
 * An event whose handler changed timers, recorded as handled in the same transaction as those changes:
 * its progress until the reactor's checkpoint passes it. A redelivered event found here is not handled
 * again, so it never schedules twice (even when its handler would pick another key or time).
 */
export interface HandledEvent {
  readonly reactor: string;
  readonly partition: number;
  /** The event's serialised position. */
  readonly position: string;
  readonly eventId: string;
}

/** Writes timer changes and the events that asked for them as handled, in one transaction. */
export type TimerProgressWriter = (changes: readonly TimerChange[], handled: readonly HandledEvent[]) => Promise<void>;

/** A filter over stored timers, a page at a time (by due time, then reactor and key). */
export interface TimerQuery {
  readonly reactor?: string;
  /** Default `pending`. */
  readonly status?: TimerStatus;
  /** Default 100, at most 10,000. */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly after?: string;
}

/** One page of timers. */
export interface TimerPage {
  readonly items: readonly StoredTimer[];
  readonly next?: string;
}

/**
 * Where timers are kept, next to the reactors' bookkeeping in the event store's own database (memory,
 * SQLite, PostgreSQL), with an index on due time. Every write is versioned by the setting event's
 * position, so the writes are idempotent and order-tolerant.
 */
export interface TimerStore {
  readonly backend: string;
  /** Applies a handler's changes in one transaction. */
  applyTimerChanges(changes: readonly TimerChange[]): Promise<void>;
  /**
   * The atomic write of timer changes with the reactor progress of the events that asked for them, when
   * `state` keeps its bookkeeping in this store's database (SQLite: the same file and connection;
   * PostgreSQL: the same pool); undefined otherwise. Without it a redelivered event's changes are kept
   * out by the version rule only (README, "Time: timers and process managers").
   */
  progressWriter?(state: ReactorStateStore): TimerProgressWriter | undefined;
  /** The earliest due time after `after` of pending timers in these partitions. */
  nextDue(partitions: readonly number[], after: Date): Promise<Date | undefined>;
  /** Pending timers due at or before `now` in these partitions, earliest first. */
  dueTimers(partitions: readonly number[], now: Date, limit: number): Promise<StoredTimer[]>;
  /** Settles pending timers of these versions (sent or parked) in one transaction; a timer changed since is left alone. */
  settleTimers(settlements: readonly TimerSettlement[]): Promise<void>;
  listTimers(query: TimerQuery): Promise<TimerPage>;
  getTimer(reactor: string, key: string): Promise<StoredTimer | undefined>;
  /** Cancels a pending or parked timer (an operator's cancel); false when there is none to cancel. */
  cancelTimer(reactor: string, key: string, at: Date): Promise<boolean>;
  /** Sets a parked timer pending again, due now; false when it is not parked. */
  redriveTimer(reactor: string, key: string, at: Date): Promise<boolean>;
  close(): Promise<void>;
}

/** A timer that was sent, or parked after its last attempt. */
export interface TimerSettlement {
  readonly reactor: string;
  readonly key: string;
  readonly version: string;
  readonly outcome: TimerOutcome;
  readonly at: Date;
}

export type TimerOutcome = { readonly status: 'fired'; readonly attempts: number } | { readonly status: 'parked'; readonly attempts: number; readonly error: ReactorErrorInfo };

/** Fixed forever: a timer's command id must be the same in every process and after every restart. */
const TIMER_COMMAND_NAMESPACE = '3f8b2a64-7d1e-4c09-b5a2-91e0c6d4f7b3';

/**
 * The command id a due timer sends with: UUID v5 of its reactor, key and version. A timer fired twice
 * (a crash before it was marked sent, two workers across a lease hand-over) appends its events once.
 *
 * @example
 * timerCommandId('approval', 'order-7:timeout', '0000…');
 */
export function timerCommandId(reactor: string, key: string, version: string): string {
  return uuidV5(`${reactor}\u0000${key}\u0000${version}`, TIMER_COMMAND_NAMESPACE);
}

const TIMER_CURSOR = /^(\d{1,16}):([^\u0000]*)\u0000(.*)$/s;

/** The `next` cursor after a timer. */
export function timerCursor(timer: StoredTimer): string {
  return `${timer.dueAt.getTime()}:${timer.reactor}\u0000${timer.key}`;
}

/** Reads an `after` cursor. @throws InvalidReactorError for one not made by {@link timerCursor}. */
export function parseTimerCursor(after: string | undefined): { dueAt: number; reactor: string; key: string } | undefined {
  if (after === undefined) return undefined;
  const match = typeof after === 'string' ? TIMER_CURSOR.exec(after) : null;
  if (!match) throw new InvalidReactorError(`after ${JSON.stringify(after)} is not a cursor from a previous page of timers`);
  return { dueAt: Number(match[1]), reactor: match[2]!, key: match[3]! };
}

/** A page from rows fetched with one more than the limit. */
export function timerPageOf(rows: readonly StoredTimer[], limit: number): TimerPage {
  const items = rows.slice(0, limit);
  return rows.length > limit && items.length > 0 ? { items, next: timerCursor(items[items.length - 1]!) } : { items };
}

export const TIMER_STATUSES: readonly TimerStatus[] = ['pending', 'fired', 'cancelled', 'parked'];

/** Checks a listing query's status and limit. @throws InvalidReactorError */
export function checkTimerQuery(query: TimerQuery): { status: TimerStatus; limit: number } {
  const status = query.status ?? 'pending';
  if (!TIMER_STATUSES.includes(status)) throw new InvalidReactorError(`status must be one of ${TIMER_STATUSES.join(', ')}`);
  const limit = query.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000) throw new InvalidReactorError(`limit must be an integer from 1 to 10000, got ${String(limit)}`);
  return { status, limit };
}

/** Keeps the last change per (reactor, key) of one handler run: what the handler asked for last wins. */
export function lastChangePerKey(changes: readonly TimerChange[]): TimerChange[] {
  const byKey = new Map<string, TimerChange>();
  for (const change of changes) {
    const reactor = change.kind === 'set' ? change.timer.reactor : change.reactor;
    const key = change.kind === 'set' ? change.timer.key : change.key;
    const id = `${reactor}\u0000${key}`;
    byKey.delete(id);
    byKey.set(id, change);
  }
  return [...byKey.values()];
}

/**
 * The one change per timer a batch comes to: changes apply only over a lower version, so a batch ends
 * where its highest-version change per (reactor, key) leads, whatever the order.
 */
export function highestVersionPerKey(changes: readonly TimerChange[]): TimerChange[] {
  const byKey = new Map<string, TimerChange>();
  for (const change of changes) {
    const reactor = change.kind === 'set' ? change.timer.reactor : change.reactor;
    const key = change.kind === 'set' ? change.timer.key : change.key;
    const version = change.kind === 'set' ? change.timer.version : change.version;
    const id = `${reactor}\u0000${key}`;
    const kept = byKey.get(id);
    const keptVersion = kept === undefined ? undefined : kept.kind === 'set' ? kept.timer.version : kept.version;
    if (keptVersion === undefined || version > keptVersion) byKey.set(id, change);
  }
  return [...byKey.values()];
}
