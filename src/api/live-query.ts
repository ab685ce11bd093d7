import { isDeepStrictEqual } from 'node:util';
import type { ChangeFeed, ProjectionChange } from '../projections/change-feed';
import type { ApiContext } from './api-context';
import { record } from '../internal/metrics';

/** WebSocket close code for a client that does not take its updates fast enough (policy violation). */
export const SLOW_CONSUMER_CLOSE_CODE = 1008;

/**
 * What a live query follows and how it reads its value.
 *
 * @example
 * const options: LiveQueryOptions<OrderView | undefined> = { projection: 'order-summary', keys: [id], read: () => orders.get(id) };
 */
export interface LiveQueryOptions<T> {
  /** The projection whose change feed wakes the query. */
  readonly projection: string;
  /**
   * Whether a change concerns this query. Default: every change of the projection. A change with
   * `keys: 'all'` (a rebuild's switch-over, merged announcements) always counts.
   */
  readonly affects?: (keys: readonly string[]) => boolean;
  /**
   * The document keys this query follows, instead of `affects`: changes are dispatched to it through
   * an index, so a change of another document costs it nothing (with thousands of live queries on
   * different documents, `affects` is called for each of them on every change).
   */
  readonly keys?: readonly string[];
  /**
   * Reads the current value from the read model. `change` is the announcement that triggered the read
   * (absent for the first read), so that subscribers of the same document can share one read per change.
   */
  readonly read: (change?: ProjectionChange) => Promise<T>;
}

/**
 * A subscription's value stream, fed only by the projections' change feed: the current value first,
 * then the value again after each committed change that concerns it (unchanged values are not sent
 * twice, nor is an unchanged result: a subscriber who may not see what changed gets nothing). Changes that arrive while a read is running are folded into one re-read. Values wait in a
 * bounded buffer for a slow client; past `limits.subscriptionBuffer` values (or
 * `limits.socketBufferBytes` unsent bytes on the socket) the client's connection is closed with code
 * 1008 and a reason saying so, so that one slow client never holds up the others. Ends when the
 * client unsubscribes or the server shuts down.
 *
 * @example
 * @Subscription(() => OrderView, { nullable: true, subscribe: ({ args, context }) =>
 *   liveQuery(context, { projection: 'order-summary', affects: (keys) => keys.includes(args.id), read: () => orders.get(args.id) }) })
 * orderChanged(@Root() order: OrderView | undefined) { return order ?? null; }
 */
export function liveQuery<T>(context: ApiContext, options: LiveQueryOptions<T>): AsyncIterableIterator<T> {
  const { services, connection } = context;
  const { subscriptionBuffer, socketBufferBytes } = services.limits;
  const queue: T[] = [];
  let last: { value: T } | undefined;
  let wake: (() => void) | undefined;
  let failure: unknown;
  let ended = false;
  let reading = false;
  let dirty = false;
  let forgetShutdown = (): void => undefined;

  const finish = (): void => {
    if (ended) return;
    ended = true;
    record.subscriptionOpened(options.projection, -1);
    unsubscribe();
    forgetShutdown();
    wake?.();
  };

  const deliver = (value: T): void => {
    if (last && sameValue(last.value, value)) return;
    last = { value };
    queue.push(value);
    record.subscriptionPush(options.projection);
    const unsent = connection?.bufferedBytes() ?? 0;
    if (queue.length > subscriptionBuffer || unsent > socketBufferBytes) {
      connection?.close(
        SLOW_CONSUMER_CLOSE_CODE,
        `slow consumer: ${queue.length} updates and ${unsent} bytes waiting (limits ${subscriptionBuffer}, ${socketBufferBytes})`,
      );
      finish();
      return;
    }
    wake?.();
  };

  let latest: ProjectionChange | undefined;
  const refresh = (change?: ProjectionChange): void => {
    if (ended) return;
    if (change) latest = change;
    if (reading) {
      dirty = true;
      return;
    }
    reading = true;
    dirty = false;
    let read: Promise<T>;
    try {
      read = options.read(latest);
    } catch (error) {
      // A read that throws at once fails the query like one that rejects.
      read = Promise.reject(error instanceof Error ? error : new Error('a live query read failed', { cause: error }));
    }
    read.then(
      (value) => {
        reading = false;
        if (ended) return;
        deliver(value);
        if (dirty) refresh();
      },
      (error: unknown) => {
        reading = false;
        failure = error;
        finish();
      },
    );
  };

  // Listen before the first read, so that a change committed during it is not missed.
  const unsubscribe = options.keys
    ? dispatcher(services.projections.changes).add(options.projection, options.keys, refresh)
    : services.projections.changes.subscribe((change: ProjectionChange) => {
        if (change.projection !== options.projection) return;
        if (change.keys !== 'all' && options.affects && !options.affects(change.keys)) return;
        refresh(change);
      });
  record.subscriptionOpened(options.projection, 1);
  forgetShutdown = onShutdown(services.shutdown, finish);

  refresh();

  const settle = (): Promise<IteratorResult<T>> => {
    if (queue.length > 0) return Promise.resolve({ done: false, value: queue.shift()! });
    if (failure !== undefined) {
      const error = failure;
      failure = undefined;
      return Promise.reject(error instanceof Error ? error : new Error('a live query read failed', { cause: error }));
    }
    return Promise.resolve({ done: true, value: undefined });
  };

  // Plain promises, not an async function awaiting in a loop: this runs once per subscriber and change.
  const iterator: AsyncIterableIterator<T> = {
    next(): Promise<IteratorResult<T>> {
      if (queue.length > 0 || ended) return settle();
      return new Promise<IteratorResult<T>>((resolve) => {
        wake = () => {
          if (queue.length === 0 && !ended) return;
          wake = undefined;
          resolve(settle());
        };
      });
    },
    return(): Promise<IteratorResult<T>> {
      finish();
      queue.length = 0;
      return Promise.resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  liveQueries.add(iterator);
  return iterator;
}

const liveQueries = new WeakSet<object>();

/**
 * Whether a subscription's source is a live query, whose subscribers want each state they can see
 * once: subscription execution then drops a result equal to the one it sent before (see
 * `subscribeShared`), e.g. the `null` of a document a `canSee` hides, on each of its changes.
 */
export function isLiveQuery(source: unknown): boolean {
  return typeof source === 'object' && source !== null && liveQueries.has(source);
}

type Wake = (change: ProjectionChange) => void;

/**
 * One change-feed listener per feed for every keyed live query: by projection, then document key.
 * A change wakes the queries of its keys (all of the projection's for `keys: 'all'`), each once.
 */
class KeyedDispatcher {
  private readonly projections = new Map<string, Map<string, Set<Wake>>>();

  constructor(feed: ChangeFeed) {
    feed.subscribe((change) => this.dispatch(change));
  }

  add(projection: string, keys: readonly string[], wake: Wake): () => void {
    let byKey = this.projections.get(projection);
    if (!byKey) this.projections.set(projection, (byKey = new Map<string, Set<Wake>>()));
    const index = byKey;
    for (const key of keys) {
      let wakes = index.get(key);
      if (!wakes) index.set(key, (wakes = new Set()));
      wakes.add(wake);
    }
    return () => {
      for (const key of keys) {
        const wakes = index.get(key);
        if (!wakes) continue;
        wakes.delete(wake);
        if (wakes.size === 0) index.delete(key);
      }
    };
  }

  private dispatch(change: ProjectionChange): void {
    const byKey = this.projections.get(change.projection);
    if (!byKey) return;
    const targets = change.keys === 'all' ? [...byKey.keys()] : change.keys;
    // A query following several of the changed keys is woken once.
    const woken = targets.length > 1 ? new Set<Wake>() : undefined;
    let failure: { error: unknown } | undefined;
    for (const key of targets) {
      const wakes = byKey.get(key);
      if (!wakes) continue;
      for (const wake of [...wakes]) {
        if (woken) {
          if (woken.has(wake)) continue;
          woken.add(wake);
        }
        try {
          wake(change);
        } catch (error) {
          // The others are still woken; the feed reports the failure, as for any listener.
          failure ??= { error };
        }
      }
    }
    if (failure) throw failure.error;
  }
}

const dispatchers = new WeakMap<ChangeFeed, KeyedDispatcher>();

function dispatcher(feed: ChangeFeed): KeyedDispatcher {
  let found = dispatchers.get(feed);
  if (!found) dispatchers.set(feed, (found = new KeyedDispatcher(feed)));
  return found;
}

const shutdownHooks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `hook` when `signal` aborts (at once if it has), through one listener per signal: removing one
 * of thousands of `abort` listeners from an AbortSignal walks them all, which made ending N live
 * queries cost O(N²). Returns the hook's removal.
 */
function onShutdown(signal: AbortSignal, hook: () => void): () => void {
  if (signal.aborted) {
    hook();
    return () => undefined;
  }
  let hooks = shutdownHooks.get(signal);
  if (!hooks) {
    const all = new Set<() => void>();
    hooks = all;
    shutdownHooks.set(signal, all);
    signal.addEventListener('abort', () => {
      for (const each of [...all]) each();
      all.clear();
    }, { once: true });
  }
  const registered = hooks;
  registered.add(hook);
  return () => void registered.delete(hook);
}

const comparisons = new WeakMap<object, { readonly next: object; readonly equal: boolean }>();

/**
 * Deep equality of a subscriber's last value and a new one, compared once per pair: subscribers of
 * one document hold the same shared values, so a thousand of them ask the same question per change.
 */
function sameValue(previous: unknown, next: unknown): boolean {
  if (previous === next) return true;
  if (typeof previous !== 'object' || previous === null || typeof next !== 'object' || next === null) return isDeepStrictEqual(previous, next);
  const known = comparisons.get(previous);
  if (known?.next === next) return known.equal;
  const equal = isDeepStrictEqual(previous, next);
  comparisons.set(previous, { next, equal });
  return equal;
}

/** A change's position as text, made once per change rather than once per subscriber. */
const positionKeys = new WeakMap<ProjectionChange, string>();

const sharedReads = new WeakMap<object, Map<string, { readonly position: string; readonly value: Promise<unknown> }>>();

/**
 * One read per document and change, however many subscribers follow the document: the first
 * subscriber woken by a change reads, the others reuse its promise. Reads not caused by a change
 * (a subscriber's first value) are never shared.
 *
 * @example
 * read: (change) => sharedRead(readModels, `orders/${id}`, change, () => orders.get(id))
 */
export function sharedRead<T>(scope: object, key: string, change: ProjectionChange | undefined, read: () => Promise<T>): Promise<T> {
  if (!change) return read();
  let reads = sharedReads.get(scope);
  if (!reads) sharedReads.set(scope, (reads = new Map<string, { readonly position: string; readonly value: Promise<unknown> }>()));
  let position = positionKeys.get(change);
  if (position === undefined) positionKeys.set(change, (position = change.position.toString()));
  const cached = reads.get(key);
  if (cached && cached.position === position) return cached.value as Promise<T>;
  const value = read();
  reads.set(key, { position, value });
  // Dropped once settled and superseded, so the map holds only documents being read right now.
  const forget = (): void => {
    queueMicrotask(() => {
      if (reads.get(key)?.value === value) reads.delete(key);
    });
  };
  value.then(forget, forget);
  return value;
}
