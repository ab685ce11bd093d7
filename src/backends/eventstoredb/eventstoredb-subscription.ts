import type {
  AllStreamResolvedEvent,
  AllStreamSubscription,
  CatchupSubscription,
  Position as EsdbPosition,
  ReadableSubscription,
  ResolvedEvent,
} from '@eventstore/db-client';
import { ABORTED, ClientStream } from './eventstoredb-client-stream';
import { toPosition, toRecordedEvent } from './eventstoredb-mapping';
import { InvalidArgumentError, StoreUnavailableError } from '../../event-store/errors';
import type { EventFilter, RecordedEvent, Subscription, SubscriptionMessage } from '../../event-store/event-store';
import { Position, type FromPosition } from '../../event-store/position';
import { matchesFilter } from '../../event-store/validation';

const FLOW_MARKER = Symbol('eventfold flow marker');

/**
 * A signal slipped into the client's event flow with `push()` from inside the client's own transform, so
 * that it sits exactly between the events that came before and after it on the wire. Reacting to the
 * client's `caughtUp` event directly would be out of order: events still buffered in the stream would
 * reach the subscriber after it.
 */
export type FlowMarker =
  | { readonly [FLOW_MARKER]: true; readonly kind: 'caught-up' }
  | { readonly [FLOW_MARKER]: true; readonly kind: 'checkpoint'; readonly position: Position };

export const CAUGHT_UP_MARKER: FlowMarker = { [FLOW_MARKER]: true, kind: 'caught-up' };

export function checkpointMarker(position: Position): FlowMarker {
  return { [FLOW_MARKER]: true, kind: 'checkpoint', position };
}

/**
 * A filter's `checkpointReached` callback: the client awaits it inside its transform, before it passes
 * on the next event, so the marker lands in order.
 */
export function markCheckpoint(subscription: AllStreamSubscription, position: EsdbPosition): void {
  subscription.push(checkpointMarker(toPosition(position)));
}

export function isFlowMarker(item: unknown): item is FlowMarker {
  return typeof item === 'object' && item !== null && FLOW_MARKER in item;
}

/**
 * Wraps a client subscription the moment it is created, before it can emit anything: its errors are
 * caught, and the server's "caught up" message becomes a marker in the flow (servers from 23.10 send it).
 */
export function watchSubscription(
  subscription: ReadableSubscription<unknown> & CatchupSubscription,
  signal?: AbortSignal,
): ClientStream<unknown> {
  const stream = new ClientStream<unknown>(subscription, () => subscription.unsubscribe(), signal);
  subscription.on('caughtUp', () => {
    subscription.push(CAUGHT_UP_MARKER);
  });
  return stream;
}

/** What one item of the server's flow means for the subscriber. */
export interface Step {
  readonly event?: RecordedEvent;
  /** Everything that was stored when the subscription started has now been delivered. */
  readonly reachedHead: boolean;
}

/** How to read the server's flow for one subscription. */
export interface SubscriptionSteps {
  /** Nothing was stored after the starting point, so the subscriber is caught up before any event. */
  readonly caughtUpAtStart: boolean;
  accept(item: unknown): Step;
}

/** A started server subscription and how to read it. */
export interface SubscriptionPlan extends SubscriptionSteps {
  readonly stream: ClientStream<unknown>;
}

/**
 * Reading a `$all` subscription that starts after `from`, when `head` was the last application event.
 *
 * Servers before 23.10 send no caught-up message; reaching `head`, by an event or by a filter checkpoint
 * (which those servers send when the search reaches the end), marks the same moment.
 */
export function allStreamSteps(
  from: FromPosition,
  head: Position | undefined,
  filter: EventFilter | undefined,
): SubscriptionSteps {
  let cursor = from instanceof Position ? from : undefined;
  const reaches = (position: Position): boolean => head !== undefined && !position.isBefore(head);
  return {
    caughtUpAtStart: from === 'end' || head === undefined || (cursor !== undefined && !cursor.isBefore(head)),
    accept: (item) => {
      if (isFlowMarker(item)) return { reachedHead: item.kind === 'caught-up' || reaches(item.position) };
      const record = (item as AllStreamResolvedEvent).event;
      if (!record) return { reachedHead: false };
      const position = toPosition(record.position);
      // Whether ESDB starts a subscription after the given position or at it, nothing is delivered twice.
      if (cursor && !position.isAfter(cursor)) return { reachedHead: false };
      cursor = position;
      const reachedHead = reaches(position);
      if (!matchesFilter(filter, record.streamId, record.type)) return { reachedHead };
      return { event: toRecordedEvent(record), reachedHead };
    },
  };
}

/** Reading a stream subscription that starts after `from`, when `head` was the stream's last revision. */
export function streamSteps(from: bigint | 'start' | 'end', head: bigint): SubscriptionSteps {
  let cursor = typeof from === 'bigint' ? from : undefined;
  return {
    caughtUpAtStart: from === 'end' || head < 0n || (cursor !== undefined && cursor >= head),
    accept: (item) => {
      if (isFlowMarker(item)) return { reachedHead: item.kind === 'caught-up' };
      const record = (item as ResolvedEvent).event;
      if (!record || (cursor !== undefined && record.revision <= cursor)) return { reachedHead: false };
      cursor = record.revision;
      return { event: toRecordedEvent(record), reachedHead: record.revision >= head };
    },
  };
}

/**
 * The contract's catch-up subscription over one ESDB catch-up subscription: ESDB reads the stored events
 * and then switches to live ones on the server, so one gRPC stream serves both phases.
 */
export class EventStoreDbSubscription implements Subscription {
  private readonly abort = new AbortController();
  private iterating = false;
  private stream: ClientStream<unknown> | undefined;

  /**
   * @param start opens the server subscription; runs once, when iteration starts.
   * @param toError turns a failure of the client into the contract's typed error.
   * @param onClose lets the store forget this subscription.
   */
  constructor(
    private readonly start: () => Promise<SubscriptionPlan>,
    private readonly toError: (error: unknown) => Error,
    private readonly onClose: (subscription: EventStoreDbSubscription) => void,
  ) {}

  get closed(): boolean {
    return this.abort.signal.aborted;
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.abort.abort();
      this.onClose(this);
    }
    await this.stream?.stop();
  }

  [Symbol.asyncIterator](): AsyncIterator<SubscriptionMessage> {
    if (this.iterating) throw new InvalidArgumentError('a subscription can be iterated only once');
    this.iterating = true;
    return this.run();
  }

  private async *run(): AsyncGenerator<SubscriptionMessage> {
    if (this.closed) return;
    try {
      const plan = await this.started();
      if (!plan) return;
      let caughtUp = plan.caughtUpAtStart;
      if (caughtUp) yield { kind: 'caught-up' };
      while (!this.closed) {
        const next = await plan.stream.next();
        if (next === ABORTED) return;
        if (next.done) throw new StoreUnavailableError('EventStoreDB ended the subscription');
        const { event, reachedHead } = plan.accept(next.value);
        if (event) {
          if (this.closed) return;
          yield { kind: 'event', event };
        }
        if (reachedHead && !caughtUp) {
          caughtUp = true;
          if (this.closed) return;
          yield { kind: 'caught-up' };
        }
      }
    } catch (error) {
      if (this.closed) return;
      throw this.toError(error);
    } finally {
      await this.close();
    }
  }

  /** The plan, or undefined when the subscription was closed while it was starting. */
  private async started(): Promise<SubscriptionPlan | undefined> {
    const starting = this.start();
    const plan = await Promise.race([
      starting,
      new Promise<undefined>((resolve) => {
        this.abort.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      }),
    ]);
    if (!plan) {
      // Closed first: whatever the start still opens must not outlive the subscription.
      starting.then((late) => late.stream.stop()).catch(() => undefined);
      return undefined;
    }
    this.stream = plan.stream;
    if (this.closed) {
      await plan.stream.stop();
      return undefined;
    }
    return plan;
  }
}
