import { StoreUnavailableError } from '../event-store/errors';
import type { EventFilter, EventStore, Subscription } from '../event-store/event-store';
import type { FromPosition } from '../event-store/position';
import { delay } from './delay';

/**
 * One subscription's worth of following: where it starts, and what reads it. Opened afresh for every
 * (re)start, so a restart always resumes from what the checkpoint store says now.
 */
export interface FollowRun {
  /** Exclusive: the run gets the events after this position. */
  readonly from: FromPosition;
  /**
   * Reads the subscription until it ends or throws. Calls `progressed` whenever work went through, so
   * that the next failure starts its backoff over.
   */
  consume(subscription: Subscription, progressed: () => void): Promise<void>;
  /** Ends the run once its subscription is closed (lets work in flight finish, checkpoints it). */
  close?(): Promise<void>;
}

/** What a failed run means: stop for good, subscribe again at once, or subscribe again after a delay. */
export type FollowVerdict = { readonly kind: 'stop' } | { readonly kind: 'resume-now' } | { readonly kind: 'retry'; readonly delayMs: number };

/**
 * The part that differs between consumers: projections commit the read model with the checkpoint and
 * stop on a poison event; reactors checkpoint after the effect and park what keeps failing.
 */
export interface FollowPolicy {
  readonly filter?: EventFilter;
  /** Loads the checkpoint and prepares a run. A throw counts as a failed run. */
  open(): Promise<FollowRun>;
  /** Decides what a failure means; `attempt` is 1 for the first failure since work last went through. */
  onFailure(error: unknown, attempt: number): FollowVerdict | Promise<FollowVerdict>;
}

/** How following ended: the signal aborted, or the policy said stop. */
export type FollowEnd = 'aborted' | 'stopped';

/**
 * Follows the store from a checkpoint and restarts with backoff: opens a run, subscribes from its
 * checkpoint, lets it read, and on a failure (a subscription that ends by itself is one) closes
 * everything and asks the policy what next. Resolves when `signal` aborts (closing the subscription)
 * or the policy says stop.
 *
 * @example
 * const end = await followStore(store, {
 *   filter: { eventTypes: ['OrderPlaced'] },
 *   open: async () => ({ from: (await checkpoints.load()) ?? 'start', consume: readAndCommit }),
 *   onFailure: (error, attempt) => (isTransient(error) ? { kind: 'retry', delayMs: 100 * 2 ** attempt } : { kind: 'stop' }),
 * }, abort.signal);
 */
export async function followStore(
  store: Pick<EventStore, 'subscribeToAll'>,
  policy: FollowPolicy,
  signal: AbortSignal,
  options: { readonly opened?: FollowRun } = {},
): Promise<FollowEnd> {
  let opened = options.opened;
  let attempt = 0;
  const progressed = (): void => {
    attempt = 0;
  };
  while (!signal.aborted) {
    let run: FollowRun | undefined;
    let subscription: Subscription | undefined;
    const closeOnAbort = (): void => void subscription?.close();
    let verdict: FollowVerdict | undefined;
    try {
      run = opened ?? (await policy.open());
      opened = undefined;
      if (signal.aborted) break;
      subscription = store.subscribeToAll({ fromPosition: run.from, filter: policy.filter });
      signal.addEventListener('abort', closeOnAbort, { once: true });
      await run.consume(subscription, progressed);
      if (!signal.aborted) throw new StoreUnavailableError('the event subscription ended unexpectedly');
    } catch (error) {
      if (!signal.aborted) verdict = await policy.onFailure(error, attempt + 1);
    } finally {
      signal.removeEventListener('abort', closeOnAbort);
      await subscription?.close().catch(() => undefined);
      await run?.close?.();
    }
    if (!verdict || signal.aborted) break;
    if (verdict.kind === 'stop') return 'stopped';
    if (verdict.kind === 'retry') {
      attempt++;
      await delay(verdict.delayMs, signal);
    }
  }
  return 'aborted';
}
