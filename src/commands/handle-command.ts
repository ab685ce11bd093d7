import { randomUUID } from 'node:crypto';
import type { Aggregate } from '../domain/aggregate';
import { ValidationError, type ValidationIssue } from '../domain/errors';
import type { EventCatalog } from '../domain/event-catalog';
import type { Message } from '../domain/message';
import { DuplicateEventIdError, WrongExpectedRevisionError } from '../event-store/errors';
import type {
  AppendResult,
  EventData,
  EventMetadata,
  EventStoreReader,
  EventStoreWriter,
  JsonObject,
  JsonValue,
  RecordedEvent,
} from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { commandFingerprint, eventIdFor } from './command-identity';
import { checkStreamExpectation, CommandIdReusedError, ConcurrencyConflictError } from './errors';
import { withCommandIds } from './recent-commands';
import { jitteredDelay, resolveRetryPolicy, type CommandRetryPolicy } from './retry-policy';
import type { SnapshotStore } from './snapshot-store';
import type { StateCache } from './state-cache';
import { decodeRecorded, findCommandEvents, loadStream, readOn, SCHEMA_VERSION_KEY, type LoadedStream } from './stream-loader';
import { delay } from '../internal/delay';

/**
 * What running a command depends on, passed in rather than looked up: the store, and the outside facts
 * the domain must not fetch itself (time, fresh ids).
 *
 * @example
 * const environment: CommandEnvironment = { store, snapshots: new SqliteSnapshotStore(store.database), clock: () => new Date() };
 */
export interface CommandEnvironment {
  readonly store: EventStoreReader & EventStoreWriter;
  /** Where snapshots live; aggregates with a `snapshots` policy use it. */
  readonly snapshots?: SnapshotStore;
  /** Folded states kept in memory between commands, so that loading reads only new events. */
  readonly cache?: StateCache;
  /** The time stamped on events (`metadata.time`). Default: the system clock. */
  readonly clock?: () => Date;
  /** Makes command ids for requests that bring none. Default: random UUIDs. */
  readonly newId?: () => string;
  readonly retry?: CommandRetryPolicy;
  /** Uniform in [0, 1), for retry jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** How to wait between retries. Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told when a snapshot could not be read or saved (or the new state not folded); the command itself is unaffected. */
  readonly onSnapshotError?: (error: unknown, streamName: string) => void;
}

/**
 * One command to run against one stream, with where it came from.
 *
 * @example
 * const request: CommandRequest<CartCommand> = {
 *   streamName: cart.streamName('c-1'),
 *   command: { type: 'AddItem', data: { sku: 'tea', quantity: 1, unitPriceCents: 250 } },
 *   commandId: input.clientMutationId,
 *   userId: session.userId,
 * };
 */
export interface CommandRequest<Command> {
  readonly streamName: string;
  readonly command: Command;
  /**
   * Makes the command idempotent: sending the same command with the same id again appends nothing and
   * returns the first receipt. Generated when absent (then a resend is a new command).
   */
  readonly commandId?: string;
  /** The workflow this command belongs to. Default: the triggering event's, else the command id. */
  readonly correlationId?: string;
  /** What caused this command. Default: the triggering event's id, else the command id. */
  readonly causationId?: string;
  /** The event a reactor is handling when it sends this command. */
  readonly causedBy?: Pick<RecordedEvent, 'id' | 'metadata'>;
  readonly userId?: string;
  readonly tenantId?: string;
  /** More metadata for every event; the well-known keys above win over these. */
  readonly metadata?: JsonObject;
}

/**
 * What a handled command did. A retried command gets the same receipt again.
 *
 * @example
 * const { revision, position, correlationId } = await handleCommand(environment, cart, request);
 */
export interface CommandReceipt<Event> {
  readonly commandId: string;
  readonly streamName: string;
  /** The stream's revision after the command: its last event's. */
  readonly revision: bigint;
  /**
   * The global position of the command's last event (or, when it decided nothing, of the stream's last
   * event): wait for projections to reach it to read your own writes. Undefined only when nothing was
   * appended to a stream that does not exist.
   */
  readonly position: Position | undefined;
  readonly correlationId: string;
  /** The events the command appended, as the domain sees them; empty when it decided nothing. */
  readonly events: readonly Event[];
}

/** Metadata keys `handleCommand` writes besides correlation, causation, user, tenant and time. */
export const COMMAND_HASH_KEY = 'commandHash';

const MAX_ID_LENGTH = 255;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Runs one command: reads the stream (from a snapshot when the aggregate has one), folds it, checks the
 * command's stream expectation, decides, and appends with the expected revision. Losing a concurrency
 * race re-reads and decides again (bounded, jittered); a command id seen before returns the first
 * receipt without appending. Every input is checked before anything is read or written.
 *
 * @example
 * const receipt = await handleCommand({ store }, cart, {
 *   streamName: cart.streamName('c-1'),
 *   command: { type: 'OpenCart', data: { customerId: 'u-7', openedAt: now.toISOString() } },
 *   commandId: 'b0c1…',
 * });
 * @throws ValidationError, UnknownCommandError, MalformedStreamNameError for bad input.
 * @throws StreamAlreadyExistsError, StreamNotFoundError when the stream expectation fails.
 * @throws ConcurrencyConflictError when every attempt lost a race.
 * @throws CommandIdReusedError when the id belongs to a different command.
 * @throws whatever `decide` throws as a DomainError (business rules), DeciderFailedError, InvalidDecisionError.
 */
export async function handleCommand<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  request: CommandRequest<Command>,
): Promise<CommandReceipt<Event>> {
  const context = prepare(environment, aggregate, request);
  const { store } = environment;
  const { streamName, commandId } = context;
  const retry = resolveRetryPolicy(environment.retry);
  const random = environment.random ?? Math.random;
  const sleep = environment.sleep ?? delay;

  let loaded = await loadStream(environment, aggregate, streamName, commandId);
  for (let attempt = 0; ; attempt++) {
    loaded = await snapshotLoadedIfDue(environment, aggregate, streamName, loaded);
    remember(environment, aggregate, streamName, loaded);
    if (loaded.commandEvents.length > 0) return receiptFromHistory(aggregate, context, loaded.commandEvents);
    try {
      return await decideAndAppend(environment, aggregate, context, loaded);
    } catch (error) {
      if (error instanceof WrongExpectedRevisionError && error.actual !== loaded.revision) {
        if (attempt >= retry.maxRetries) throw new ConcurrencyConflictError(streamName, attempt + 1, error);
        await sleep(jitteredDelay(retry, attempt, random()));
        if (error.actual < loaded.revision) {
          // The stream is behind what was folded: the cached state came from another store (or a restored
          // one). Only a fold from scratch can be trusted.
          environment.cache?.delete(streamName);
          loaded = await loadStream({ ...environment, cache: undefined }, aggregate, streamName, commandId);
        } else {
          loaded = await readOn(store, aggregate, streamName, loaded, commandId);
        }
        continue;
      }
      // The store refusing our deterministic event ids (a WrongExpectedRevisionError at the revision we
      // expected is that too) means they are stored already: this may be a retry of a command that ran.
      const idsTaken = error instanceof DuplicateEventIdError || error instanceof WrongExpectedRevisionError;
      if (idsTaken || ranBehindFold(loaded, commandId)) {
        const earlier = await findCommandEvents(store, streamName, commandId);
        if (earlier.length > 0) return receiptFromHistory(aggregate, context, earlier);
        if (idsTaken) throw new CommandIdReusedError(commandId, streamName, 'its event ids are taken in another stream');
      }
      throw error;
    }
  }
}

function remember<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  loaded: LoadedStream<State>,
): void {
  // A stream that does not exist is not worth a cache slot: NOT_FOUND probes would evict real states.
  if (!environment.cache || loaded.revision < 0n) return;
  const { state, revision, position, snapshotRevision, recentCommandIds } = loaded;
  environment.cache.set(aggregate, streamName, { state, revision, position, snapshotRevision, recentCommandIds });
}

/**
 * Snapshots a long fold right away, so that streams whose commands often decide nothing (or are
 * rejected) still get a snapshot, not only those that keep growing through this handler.
 */
async function snapshotLoadedIfDue<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  loaded: LoadedStream<State>,
): Promise<LoadedStream<State>> {
  const policy = aggregate.snapshots;
  if (!policy || !environment.snapshots || loaded.revision < 0n || loaded.revision - loaded.snapshotRevision < BigInt(policy.every)) {
    return loaded;
  }
  const saved = await saveSnapshot(environment, aggregate, streamName, loaded.state, loaded.recentCommandIds, {
    revision: loaded.revision,
    position: loaded.position!,
  });
  return saved ? { ...loaded, snapshotRevision: loaded.revision } : loaded;
}

/**
 * Whether the command ran in the part of the stream the fold skipped (behind a snapshot or a cached
 * state), judged by the ids of the last commands folded in. Reading the skipped events instead would
 * make every rejected or no-op command cost a read of the whole stream. A retry older than that window
 * is still caught whenever it decides events again (the store knows their ids); one that decides
 * nothing or is rejected now is answered as a new command — and appends nothing either way.
 */
function ranBehindFold(loaded: LoadedStream<unknown>, commandId: string): boolean {
  return loaded.unscannedThrough >= 0n && loaded.recentCommandIds.includes(commandId);
}

interface CommandContext<Command extends Message> {
  readonly streamName: string;
  readonly command: Command;
  readonly commandId: string;
  readonly fingerprint: string;
  readonly correlationId: string;
  readonly baseMetadata: EventMetadata;
  readonly clock: () => Date;
}

async function decideAndAppend<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  context: CommandContext<Command>,
  loaded: LoadedStream<State>,
): Promise<CommandReceipt<Event>> {
  const { streamName, command, commandId, correlationId } = context;
  checkStreamExpectation(aggregate.commands.streamExpectation(command.type), streamName, command.type, loaded.revision);
  const events = aggregate.decide(command, loaded.state);
  if (events.length === 0) {
    if (ranBehindFold(loaded, commandId)) {
      const earlier = await findCommandEvents(environment.store, streamName, commandId);
      if (earlier.length > 0) return receiptFromHistory(aggregate, context, earlier);
    }
    return { commandId, streamName, revision: loaded.revision, position: loaded.position, correlationId, events };
  }
  const result = await environment.store.appendToStream(streamName, toEventData(aggregate.events, context, events), {
    expectedRevision: loaded.revision < 0n ? 'no_stream' : loaded.revision,
  });
  const policy = aggregate.snapshots;
  const snapshotDue = !!policy && !!environment.snapshots && result.revision - loaded.snapshotRevision >= BigInt(policy.every);
  if (environment.cache || snapshotDue) {
    const state = evolveAfterAppend(environment, aggregate, streamName, loaded.state, events);
    if (state !== undefined) {
      const recentCommandIds = withCommandIds(loaded.recentCommandIds, [commandId]);
      const saved = snapshotDue && (await saveSnapshot(environment, aggregate, streamName, state.value, recentCommandIds, result));
      environment.cache?.set(aggregate, streamName, {
        state: state.value,
        revision: result.revision,
        position: result.position,
        snapshotRevision: saved ? result.revision : loaded.snapshotRevision,
        recentCommandIds,
      });
    }
  }
  return { commandId, streamName, revision: result.revision, position: result.position, correlationId, events };
}

/**
 * The state after the command's own events. They are committed already, so a throwing `evolve` must not
 * fail the command: the state is then simply not cached or snapshotted (the next load folds and fails
 * loudly instead).
 */
function evolveAfterAppend<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  state: State,
  events: readonly Event[],
): { value: State } | undefined {
  try {
    let value = state;
    for (const event of events) value = aggregate.evolve(value, event);
    return { value };
  } catch (error) {
    environment.cache?.delete(streamName);
    environment.onSnapshotError?.(error, streamName);
    return undefined;
  }
}

function toEventData<Event extends Message>(
  catalog: EventCatalog<Event>,
  context: CommandContext<Message>,
  events: readonly Event[],
): EventData[] {
  const time = context.clock();
  if (!(time instanceof Date) || Number.isNaN(time.getTime())) throw new RangeError('the clock returned an invalid Date');
  const metadata: EventMetadata = { ...context.baseMetadata, time: time.toISOString() };
  return events.map((event, index) => ({
    id: eventIdFor(context.commandId, index),
    type: event.type,
    data: event.data as JsonValue,
    metadata: {
      ...metadata,
      [SCHEMA_VERSION_KEY]: catalog.currentVersion(event.type),
      // Once per append is enough: a retry is recognised by its first event.
      ...(index === 0 ? { [COMMAND_HASH_KEY]: context.fingerprint } : {}),
    },
  }));
}

/** Saves a snapshot; true when it was saved. */
async function saveSnapshot<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  streamName: string,
  state: State,
  recentCommandIds: readonly string[],
  result: AppendResult,
): Promise<boolean> {
  const policy = aggregate.snapshots!;
  try {
    const encoded = policy.encode ? policy.encode(state) : state;
    await environment.snapshots!.save({
      streamName,
      revision: result.revision,
      position: result.position,
      version: policy.version,
      state: encoded as JsonValue,
      recentCommandIds,
    });
    return true;
  } catch (error) {
    // The events are committed; a snapshot is only a cache, so failing to save one must not fail the command.
    environment.onSnapshotError?.(error, streamName);
    return false;
  }
}

function receiptFromHistory<Command extends Message, Event extends Message, State>(
  aggregate: Aggregate<Command, Event, State>,
  context: CommandContext<Command>,
  recorded: readonly RecordedEvent[],
): CommandReceipt<Event> {
  const first = recorded[0]!;
  const last = recorded[recorded.length - 1]!;
  if (first.metadata[COMMAND_HASH_KEY] !== context.fingerprint) {
    const earlierType = first.metadata.commandType;
    throw new CommandIdReusedError(
      context.commandId,
      context.streamName,
      earlierType === context.command.type
        ? `an earlier ${String(earlierType)} on ${first.streamName} had another payload`
        : `it was ${typeof earlierType === 'string' ? earlierType : 'another command'} on ${first.streamName}`,
    );
  }
  return {
    commandId: context.commandId,
    streamName: context.streamName,
    revision: last.revision,
    position: last.position,
    correlationId: first.metadata.correlationId ?? context.correlationId,
    events: recorded.map((event) => decodeRecorded(aggregate.events, event)),
  };
}

/** Checks everything about the request up front, so that bad input never reaches the store. */
function prepare<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  request: CommandRequest<Command>,
): CommandContext<Command> {
  if (request === null || typeof request !== 'object') {
    throw new ValidationError('command request', [{ path: '', message: 'expected an object { streamName, command, … }' }]);
  }
  aggregate.parseStreamName(request.streamName);
  const command = aggregate.parseCommand(request.command);
  const issues: ValidationIssue[] = [];
  for (const key of ['commandId', 'correlationId', 'causationId', 'userId', 'tenantId'] as const) {
    const problem = idProblem(request[key]);
    if (problem) issues.push({ path: key, message: problem });
  }
  const { causedBy, metadata: extra } = request;
  if (causedBy !== undefined) {
    if (causedBy === null || typeof causedBy !== 'object' || typeof causedBy.id !== 'string' || !isPlainObject(causedBy.metadata)) {
      issues.push({ path: 'causedBy', message: 'expected a recorded event with an id and metadata' });
    }
  }
  if (extra !== undefined && !isPlainObject(extra)) issues.push({ path: 'metadata', message: 'expected a plain JSON object' });
  if (issues.length > 0) throw new ValidationError('command request', issues);

  const commandId = request.commandId ?? (environment.newId ?? randomUUID)();
  const generatedProblem = idProblem(commandId);
  if (generatedProblem) throw new ValidationError('generated command id', [{ path: 'commandId', message: generatedProblem }]);
  const triggerCorrelation = causedBy?.metadata.correlationId;
  const correlationId = request.correlationId ?? triggerCorrelation ?? causedBy?.id ?? commandId;
  const causationId = request.causationId ?? causedBy?.id ?? commandId;
  const baseMetadata: EventMetadata = {
    ...extra,
    correlationId,
    causationId,
    commandId,
    commandType: command.type,
    ...(request.userId !== undefined ? { userId: request.userId } : {}),
    ...(request.tenantId !== undefined ? { tenantId: request.tenantId } : {}),
  };
  return {
    streamName: request.streamName,
    command,
    commandId,
    fingerprint: commandFingerprint(request.streamName, command),
    correlationId,
    baseMetadata,
    clock: environment.clock ?? (() => new Date()),
  };
}

function idProblem(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return `expected a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_ID_LENGTH) return `is longer than ${MAX_ID_LENGTH} characters`;
  if (CONTROL_CHARACTERS.test(value)) return 'contains control characters';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}
