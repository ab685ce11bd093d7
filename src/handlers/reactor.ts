import type { Logger } from '../internal/logger';
import type { CommandReceipt } from '../commands/handle-command';
import { upcastRecorded, type UpcastEvent } from '../commands/upcast-recorded';
import type { EventCatalog } from '../domain/event-catalog';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { EventFilter, JsonObject, RecordedEvent } from '../event-store/event-store';
import { InvalidReactorError } from './errors';
import type { ScheduleOptions } from './timer-scheduler';

/** The event a reactor handles: an event as recorded in the store. */
export type ReactorEvent = RecordedEvent;

/**
 * Where a delivery stands: the attempt number (1 on the first try, also on a redelivery after a
 * restart) and how many attempts are allowed before the event is parked.
 */
export interface DeliveryInfo {
  readonly attempt: number;
  readonly maxAttempts: number;
}

/**
 * Structured log lines from reactors: the kit's one {@link Logger} under the reactors' name. The
 * runner adds the reactor, event id, stream and attempt to a handler's `context.logger` lines.
 *
 * @example
 * await ReactorRunner.start({ store, reactors, logger: pino() });
 */
export type ReactorLogger = Logger;

/**
 * A command sent by a reactor. Its `commandId` is derived from the reactor's name, the event's id and
 * `key` (default: stream name and command type), so a redelivered event never issues it twice. Give a
 * distinct `key` when one event sends two commands of the same type to the same stream.
 *
 * @example
 * await context.send(delivery, { streamName: delivery.streamName(orderId), command: { type: 'AssignDriver', data } });
 */
export interface ReactorCommand<Command> {
  readonly streamName: string;
  readonly command: Command;
  readonly key?: string;
  readonly userId?: string;
  readonly tenantId?: string;
  readonly metadata?: JsonObject;
}

/**
 * What a handler gets besides the event.
 *
 * @example
 * handle: async (event, context) => {
 *   await mailer.send({ to, idempotencyKey: context.idempotencyKey });
 *   context.logger.info({ to: event.data.email }, 'mail sent');
 * }
 */
export interface ReactorContext {
  /** The event's id: pass it to the outside world so that a redelivery does nothing twice. */
  readonly idempotencyKey: string;
  readonly delivery: DeliveryInfo;
  readonly logger: ReactorLogger;
  /** Aborted when the runner stops or loses this event's partition: stop work and throw. */
  readonly signal: AbortSignal;
  /**
   * Runs a command (through `handleCommand`) with a command id derived from this event, with this
   * event as its cause (correlation and causation flow on).
   */
  send<Command extends Message, Event extends Message, State>(
    aggregate: Aggregate<Command, Event, State>,
    request: ReactorCommand<Command>,
  ): Promise<CommandReceipt<Event>>;
  /**
   * Sends `request` later (see {@link ScheduleOptions}); returns the timer's key. Written with the
   * handler's success, versioned by this event, so a redelivery never sets it twice. The aggregate must
   * be in the runner's `aggregates`.
   *
   * @example
   * context.schedule(order, { streamName, command: { type: 'ExpireApproval', data: {} } }, { afterMs: 300_000, key: `approval-${orderId}` });
   */
  schedule<Command extends Message, Event extends Message, State>(
    aggregate: Aggregate<Command, Event, State>,
    request: ReactorCommand<Command>,
    when: ScheduleOptions,
  ): string;
  /** Cancels this reactor's timer with `key` (written with the handler's success, like `schedule`). */
  cancelSchedule(key: string): void;
}

/**
 * A reactor's logic. It must be idempotent (it may see an event more than once) and order-tolerant
 * (events of different streams come in any order; `unordered` reactors see any order at all). Throw to
 * retry; throw a `NonRetryableError` to park at once.
 *
 * @example
 * const handler: ReactorHandler = async (event, context) => { await context.send(shipping, { ... }); };
 */
export type ReactorHandler = (event: ReactorEvent, context: ReactorContext) => Promise<void> | void;

/**
 * `per-stream`: events of one stream one at a time, in order; streams in parallel. `unordered`: all in
 * parallel.
 */
export type ReactorOrdering = 'per-stream' | 'unordered';

/**
 * How failed attempts are retried: exponential backoff with equal jitter (retry n waits between half
 * and all of `min(maxDelayMs, initialDelayMs · 2^(n−1))`), at most `maxAttempts` attempts and no longer
 * than `maxAgeMs` after the first one. After that the event is parked. Equal, not full, jitter: a
 * reactor retries an outside service that just failed, and the floor keeps a retry from firing at once.
 *
 * @example
 * defineReactor({ ..., retry: { maxAttempts: 8, initialDelayMs: 200, maxDelayMs: 60_000, maxAgeMs: 3_600_000 } });
 */
export interface ReactorRetryPolicy {
  /** Default 5. */
  readonly maxAttempts?: number;
  /** The step before the first retry (the wait is between half of it and it). Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Default 30 s. Also caps a `Retry-After` asked for by a `RetryLaterError`. */
  readonly maxDelayMs?: number;
  /** Default 1 hour. */
  readonly maxAgeMs?: number;
}

/**
 * How a reactor is run: which events, in what order, how many at once, how failures are retried.
 *
 * @example
 * const options: ReactorOptions = { name: 'notify', filter: { eventTypes: ['OrderShipped'] }, ordering: 'unordered', concurrency: 64 };
 */
export interface ReactorOptions {
  /** Stable: checkpoints and parked events are stored under it. Letters, digits, `-`, `_`, `.`; up to 100. */
  readonly name: string;
  /** Which events it gets: event types and/or stream prefixes (both given: both must match). */
  readonly filter: EventFilter;
  /** Default `per-stream`. */
  readonly ordering?: ReactorOrdering;
  /** Most events handled at once (per worker). Default 32. */
  readonly concurrency?: number;
  readonly retry?: ReactorRetryPolicy;
  /**
   * `per-stream` only: what happens to later events of a stream whose event is parked. `wait` (default):
   * they are stored behind it and handled, in order, as soon as it is redriven successfully. `park`:
   * they are parked too, each needing a redrive (a stream redrive sends them all, in order).
   */
  readonly whenStreamBlocked?: 'wait' | 'park';
}

/**
 * A reactor: options plus its handler (an in-process function, or a webhook POST).
 *
 * @example
 * const notify: Reactor = defineReactor({ name: 'notify', filter: { eventTypes: ['OrderPlaced'] }, handle });
 */
export interface Reactor extends ReactorOptions {
  /** `function` for in-process handlers, `webhook` for HTTP endpoints. */
  readonly kind: 'function' | 'webhook';
  readonly handle: ReactorHandler;
}

/**
 * What {@link defineReactor} takes: the options and the handler. With `events` (an aggregate's event
 * catalog) the handler gets each event upcast to the catalog's current schema, typed per event type;
 * every type in `filter.eventTypes` must then be one the catalog knows.
 *
 * @example
 * const definition: ReactorDefinition = { name: 'notify', filter: { eventTypes: ['OrderShipped'] }, handle };
 * const typed: ReactorDefinition<OrderEvent> = { name: 'notify', filter: { eventTypes: ['OrderShipped'] }, events: orderEvents, handle };
 */
export interface ReactorDefinition<Event extends Message = never> extends ReactorOptions {
  readonly events?: EventCatalog<Event>;
  readonly handle: (event: CatalogReactorEvent<Event>, context: ReactorContext) => Promise<void> | void;
}

/** The event a reactor's handler gets: as recorded, or with a catalog upcast to its current schema. */
export type CatalogReactorEvent<Event extends Message> = [Event] extends [never] ? ReactorEvent : UpcastEvent<Event>;

/** A reactor with every default applied (what the runner works with). */
export interface ResolvedReactor extends Reactor {
  readonly ordering: ReactorOrdering;
  readonly concurrency: number;
  readonly retry: Required<ReactorRetryPolicy>;
  readonly whenStreamBlocked: 'wait' | 'park';
}

/**
 * The retry policy a reactor gets for every field it leaves out.
 *
 * @example
 * defineReactor({ ..., retry: { ...DEFAULT_REACTOR_RETRY, maxAttempts: 10 } });
 */
export const DEFAULT_REACTOR_RETRY: Required<ReactorRetryPolicy> = {
  maxAttempts: 5,
  initialDelayMs: 100,
  maxDelayMs: 30_000,
  maxAgeMs: 3_600_000,
};

const REACTOR_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/**
 * Defines an in-process reactor. Checks the definition at once.
 *
 * @example
 * export const notifyCustomer = defineReactor({
 *   name: 'notify-customer',
 *   filter: { eventTypes: ['OrderShipped'] },
 *   handle: async (event, context) => {
 *     await mailer.send({ orderId: event.streamName, idempotencyKey: context.idempotencyKey });
 *   },
 * });
 * @throws InvalidReactorError for a bad name, filter, limit or policy.
 */
export function defineReactor<Event extends Message>(definition: ReactorDefinition<Event> & { readonly events: EventCatalog<Event> }): Reactor;
export function defineReactor(definition: ReactorDefinition): Reactor;
export function defineReactor<Event extends Message>(definition: ReactorDefinition<Event>): Reactor {
  const { events: catalog, handle, ...options } = definition;
  const reactor: Reactor = { ...options, kind: 'function', handle: withCurrentSchema(String(options.name), catalog, handle, options.filter) };
  resolveReactor(reactor);
  return reactor;
}

/**
 * A handler that gets events upcast by `catalog` (as recorded without one). An event the catalog cannot
 * decode throws InvalidStoredEventError: retried, then parked with that reason, never dropped.
 *
 * @throws InvalidReactorError when `catalog` is not a catalog or does not know a filtered event type.
 */
export function withCurrentSchema<Event extends Message>(
  name: string,
  catalog: EventCatalog<Event> | undefined,
  handle: (event: CatalogReactorEvent<Event>, context: ReactorContext) => Promise<void> | void,
  filter?: EventFilter,
): ReactorHandler {
  if (typeof handle !== 'function') return handle;
  if (catalog === undefined) return handle as ReactorHandler;
  if (typeof catalog !== 'object' || catalog === null || typeof catalog.decode !== 'function' || typeof catalog.has !== 'function') {
    throw new InvalidReactorError(`reactor "${name}": events must be an event catalog (defineEvents)`);
  }
  const listed: unknown = filter?.eventTypes;
  const unknown = Array.isArray(listed) ? listed.filter((type): type is string => typeof type === 'string' && !catalog.has(type)) : [];
  if (unknown.length > 0) {
    throw new InvalidReactorError(`reactor "${name}": filter.eventTypes ${unknown.join(', ')} are not in its events catalog`);
  }
  return (event, context) => handle(upcastRecorded(catalog, event) as CatalogReactorEvent<Event>, context);
}

/** Applies the defaults and checks every option. */
export function resolveReactor(reactor: Reactor): ResolvedReactor {
  if (typeof reactor !== 'object' || reactor === null) throw new InvalidReactorError('a reactor must be an object');
  if (typeof reactor.name !== 'string' || !REACTOR_NAME.test(reactor.name)) {
    throw new InvalidReactorError(
      `reactor name ${JSON.stringify(reactor.name)} must be 1-100 letters, digits, '.', '-' or '_', starting with a letter or digit`,
    );
  }
  const where = `reactor "${reactor.name}"`;
  if (typeof reactor.handle !== 'function') throw new InvalidReactorError(`${where}: handle must be a function`);
  checkFilter(where, reactor.filter);
  const ordering = reactor.ordering ?? 'per-stream';
  if (ordering !== 'per-stream' && ordering !== 'unordered') {
    throw new InvalidReactorError(`${where}: ordering must be 'per-stream' or 'unordered'`);
  }
  const concurrency = reactor.concurrency ?? 32;
  checkInteger(where, 'concurrency', concurrency, 1, 10_000);
  const retry = { ...DEFAULT_REACTOR_RETRY, ...definedOnly(reactor.retry ?? {}) };
  checkInteger(where, 'retry.maxAttempts', retry.maxAttempts, 1, 1_000);
  checkInteger(where, 'retry.initialDelayMs', retry.initialDelayMs, 0, 86_400_000);
  checkInteger(where, 'retry.maxDelayMs', retry.maxDelayMs, 0, 86_400_000);
  checkInteger(where, 'retry.maxAgeMs', retry.maxAgeMs, 0, 365 * 86_400_000);
  if (retry.maxDelayMs < retry.initialDelayMs) throw new InvalidReactorError(`${where}: retry.maxDelayMs is below retry.initialDelayMs`);
  const whenStreamBlocked = reactor.whenStreamBlocked ?? 'wait';
  if (whenStreamBlocked !== 'wait' && whenStreamBlocked !== 'park') {
    throw new InvalidReactorError(`${where}: whenStreamBlocked must be 'wait' or 'park'`);
  }
  return { ...reactor, ordering, concurrency, retry, whenStreamBlocked };
}

function checkFilter(where: string, filter: EventFilter | undefined): void {
  if (typeof filter !== 'object' || filter === null) throw new InvalidReactorError(`${where}: filter is required`);
  const { eventTypes, streamPrefixes } = filter;
  if (eventTypes === undefined && streamPrefixes === undefined) {
    throw new InvalidReactorError(`${where}: filter needs eventTypes and/or streamPrefixes`);
  }
  for (const [field, list] of [
    ['eventTypes', eventTypes],
    ['streamPrefixes', streamPrefixes],
  ] as const) {
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0 || list.some((item) => typeof item !== 'string' || item.length === 0)) {
      throw new InvalidReactorError(`${where}: filter.${field} must be a non-empty list of non-empty strings`);
    }
  }
}

function checkInteger(where: string, field: string, value: unknown, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidReactorError(`${where}: ${field} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * Whether an event passes a reactor's filter (the store filters too; this guards replays and redrives).
 *
 * @example
 * matchesFilter({ eventTypes: ['OrderPlaced'] }, event);
 */
export function matchesFilter(filter: EventFilter, event: Pick<RecordedEvent, 'type' | 'streamName'>): boolean {
  if (filter.eventTypes && !filter.eventTypes.includes(event.type)) return false;
  if (filter.streamPrefixes && !filter.streamPrefixes.some((prefix) => event.streamName.startsWith(prefix))) return false;
  return true;
}
