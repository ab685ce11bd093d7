import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { JsonObject, RecordedEvent } from '../event-store/event-store';
import { InvalidReactorError } from './errors';
import type { ReactorCommand } from './reactor';
import { commandTarget } from './send-command';
import type { TimerChange } from './timer-store';

/**
 * When a scheduled command is due: at a time (`at`), or `afterMs` after the event was recorded (so a
 * redelivered or late event computes the same time). `key` names the timer for `cancelSchedule` and for
 * replacing it; default: derived from the event, the command's stream and its type.
 *
 * @example
 * context.schedule(order, { streamName, command }, { afterMs: 300_000, key: `approval-${orderId}` });
 */
export interface ScheduleOptions {
  readonly at?: Date | string | number;
  readonly afterMs?: number;
  readonly key?: string;
}

/** The event a handler runs for, as far as timers need it. */
export type SchedulingEvent = Pick<RecordedEvent, 'id' | 'streamName' | 'metadata' | 'position' | 'recordedAt'>;

const MAX_KEY_LENGTH = 200;

/**
 * The timer changes one handler attempt asks for. They are written only when the handler succeeds, in
 * one transaction, before the event counts as handled — with the event's record as handled when the
 * stores share a database (see `TimerRuntime`); each is versioned by the event's position, so a
 * redelivered event never sets a timer twice under the same key.
 */
export class TimerScheduler {
  readonly changes: TimerChange[] = [];

  constructor(
    private readonly reactor: string,
    private readonly event: SchedulingEvent,
    private readonly partition: number,
    /** The aggregates the runner can send timers to, by category; undefined: no timer store here. */
    private readonly aggregates: ReadonlyMap<string, Aggregate<Message, Message, unknown>> | undefined,
  ) {}

  /**
   * Asks for `request` to be sent when due; returns the timer's key.
   *
   * @throws InvalidReactorError for a bad time or key, an aggregate the runner was not given, or no timer store.
   */
  schedule<Command extends Message, Event extends Message, State>(
    aggregate: Aggregate<Command, Event, State>,
    request: ReactorCommand<Command>,
    when: ScheduleOptions,
  ): string {
    const where = `reactor "${this.reactor}": schedule`;
    if (!this.aggregates) throw new InvalidReactorError(`${where}: timers need a timer store (SQLite, PostgreSQL, memory, or options.timers)`);
    const category = (aggregate as Partial<Aggregate<Command, Event, State>> | undefined)?.category;
    if (typeof category !== 'string' || this.aggregates.get(category) !== (aggregate as unknown)) {
      throw new InvalidReactorError(`${where}: the aggregate ${JSON.stringify(category)} is not in the runner's aggregates (options.aggregates)`);
    }
    if (typeof request !== 'object' || request === null || typeof request.streamName !== 'string' || request.streamName.length === 0) {
      throw new InvalidReactorError(`${where}: request.streamName must be a non-empty string`);
    }
    const command = request.command as unknown as { type?: unknown } | null;
    if (typeof command !== 'object' || command === null || typeof command.type !== 'string') {
      throw new InvalidReactorError(`${where}: request.command must be a command with a type`);
    }
    const dueAt = dueTime(where, this.event, when);
    const key = when.key ?? `${this.event.id}:${request.streamName}:${command.type}`;
    checkKey(where, key);
    const target = commandTarget(this.event, request);
    this.changes.push({
      kind: 'set',
      timer: {
        reactor: this.reactor,
        key,
        partition: this.partition,
        dueAt,
        aggregate: category,
        streamName: target.streamName,
        command: request.command as unknown as JsonObject & { type: string },
        ...(request.userId !== undefined ? { userId: request.userId } : {}),
        ...(target.tenantId !== undefined ? { tenantId: target.tenantId } : {}),
        ...(request.metadata !== undefined ? { metadata: request.metadata } : {}),
        causedBy: { id: this.event.id, metadata: this.event.metadata },
        version: this.event.position.toString(),
      },
    });
    return key;
  }

  /** Cancels the reactor's timer with this key (pending, or set later by an earlier event). */
  cancel(key: string): void {
    checkKey(`reactor "${this.reactor}": cancelSchedule`, key);
    this.changes.push({ kind: 'cancel', reactor: this.reactor, key, partition: this.partition, version: this.event.position.toString() });
  }
}

function dueTime(where: string, event: SchedulingEvent, when: ScheduleOptions): Date {
  if (typeof when !== 'object' || when === null || (when.at === undefined) === (when.afterMs === undefined)) {
    throw new InvalidReactorError(`${where}: give exactly one of at and afterMs`);
  }
  if (when.afterMs !== undefined) {
    if (!Number.isSafeInteger(when.afterMs) || when.afterMs < 0) throw new InvalidReactorError(`${where}: afterMs must be a whole number of milliseconds, 0 or more`);
    return new Date(event.recordedAt.getTime() + when.afterMs);
  }
  const at = when.at instanceof Date ? when.at : typeof when.at === 'string' || typeof when.at === 'number' ? new Date(when.at) : undefined;
  if (!at || Number.isNaN(at.getTime())) throw new InvalidReactorError(`${where}: at must be a date, an ISO time or epoch milliseconds`);
  return at;
}

function checkKey(where: string, key: unknown): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || key.includes('\u0000')) {
    throw new InvalidReactorError(`${where}: key must be 1-${MAX_KEY_LENGTH} characters without NUL`);
  }
}
