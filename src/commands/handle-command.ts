import { delay } from '../internal/delay';
import { traceCommand, type CommandTrace } from '../internal/telemetry';
import { TRACEPARENT_KEY } from '../internal/trace-context';
import type { Aggregate } from '../domain/aggregate';
import type { Message } from '../domain/message';
import type { EventStoreReader, EventStoreWriter, JsonObject, RecordedEvent } from '../event-store/event-store';
import type { Position } from '../event-store/position';
import { appendDecision } from './append-decision';
import { prepareCommand } from './command-context';
import { checkStreamExpectation, ConcurrencyConflictError } from './errors';
import { loadState, reloadAfterConflict } from './load-state';
import { receiptOfEarlierRun, recogniseRetry } from './recognise-retry';
import { rememberAppended } from './remember-state';
import { jitteredDelay, resolveRetryPolicy, type CommandRetryPolicy } from './retry-policy';
import type { SnapshotStore } from './snapshot-store';
import type { StateCache } from './state-cache';

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

// The metadata key `handleCommand` writes the command's fingerprint under; exported from here since
// before it moved to the command's identity.
export { COMMAND_HASH_KEY } from './command-identity';

/**
 * Runs one command, in five steps: load the state (cache, snapshot, events after it), recognise a retry,
 * decide (after checking the command's stream expectation), append with the expected revision, remember
 * the new state. Losing a concurrency
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
export function handleCommand<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  request: CommandRequest<Command>,
): Promise<CommandReceipt<Event>> {
  return traceCommand(request, (trace) => runCommand(environment, aggregate, request, trace));
}

async function runCommand<Command extends Message, Event extends Message, State>(
  environment: CommandEnvironment,
  aggregate: Aggregate<Command, Event, State>,
  request: CommandRequest<Command>,
  trace: CommandTrace,
): Promise<CommandReceipt<Event>> {
  const context = withTraceparent(prepareCommand(environment, aggregate, request), trace.traceparent);
  const { streamName, command, commandId, correlationId } = context;
  const retry = resolveRetryPolicy(environment.retry);
  const random = environment.random ?? Math.random;
  const sleep = environment.sleep ?? delay;

  let loaded = await trace.step('load', () => loadState(environment, aggregate, streamName, commandId));
  for (let attempt = 0; ; attempt++) {
    // Retries are recognised before deciding. A retry racing its own first run (both loaded before either
    // appended) is settled by the store: the same decision is answered with the first result, another
    // decision under the same ids is refused (ids-taken) and judged against the stored fingerprint.
    const earlier = await recogniseRetry(environment.store, aggregate, context, loaded);
    if (earlier) return earlier;

    checkStreamExpectation(aggregate.commands.streamExpectation(command.type), streamName, command.type, loaded.revision);
    const state = loaded.state;
    const events = await trace.step('decide', () => aggregate.decide(command, state));
    if (events.length === 0) return { commandId, streamName, revision: loaded.revision, position: loaded.position, correlationId, events };

    const decided = loaded;
    const backend = (environment.store as { backend?: string }).backend ?? 'other';
    const outcome = await trace.append(streamName, events.length, backend, () => appendDecision(environment.store, aggregate.events, context, decided, events));
    switch (outcome.kind) {
      case 'appended': {
        const { revision, position } = outcome.result;
        await rememberAppended(environment, aggregate, streamName, commandId, loaded, events, outcome.result);
        return { commandId, streamName, revision, position, correlationId, events };
      }
      case 'ids-taken':
        return receiptOfEarlierRun(environment.store, aggregate, context);
      case 'conflict':
        if (attempt >= retry.maxRetries) throw new ConcurrencyConflictError(streamName, attempt + 1, outcome.error);
        await sleep(jitteredDelay(retry, attempt, random()));
        loaded = await reloadAfterConflict(environment, aggregate, streamName, commandId, loaded, outcome.error.actual);
        break;
      default: {
        const _never: never = outcome;
        return _never;
      }
    }
  }
}

/** The command's events carry its span's trace context, so projections and reactors continue its trace. */
function withTraceparent<C extends { readonly baseMetadata: object }>(context: C, traceparent: string | undefined): C {
  return traceparent === undefined ? context : { ...context, baseMetadata: { ...context.baseMetadata, [TRACEPARENT_KEY]: traceparent } };
}
