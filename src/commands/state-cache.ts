import type { Position } from '../event-store/position';

/**
 * A folded state kept between commands.
 *
 * @example
 * const cached: CachedState<CartState> | undefined = cache.get(cart, 'cart-1');
 */
export interface CachedState<State> {
  readonly state: State;
  readonly revision: bigint;
  readonly position: Position | undefined;
  /** The revision of the newest snapshot known to be stored, so that snapshots keep their cadence. */
  readonly snapshotRevision: bigint;
  /** The ids of the last commands folded in, oldest first. */
  readonly recentCommandIds: readonly string[];
}

interface Entry {
  readonly owner: object;
  readonly cached: CachedState<unknown>;
}

/**
 * Folded states kept in process memory between commands, least recently used first out, so that a
 * command reads only the events appended since (usually none) instead of the whole stream. Safe with
 * other writers and processes: the tail is always read, and the append's expected revision catches
 * anything that slipped in between. Relies on `evolve` being pure (never mutating the state it gets).
 * Use one cache per event store.
 *
 * @example
 * const environment = { store, cache: new StateCache({ maxStreams: 50_000 }) };
 * await handleCommand(environment, cart, request);
 */
export class StateCache {
  private readonly entries = new Map<string, Entry>();
  readonly maxStreams: number;

  constructor(options: { readonly maxStreams?: number } = {}) {
    const maxStreams = options.maxStreams ?? 10_000;
    if (!Number.isInteger(maxStreams) || maxStreams < 1) throw new RangeError(`maxStreams must be a positive integer, got ${maxStreams}`);
    this.maxStreams = maxStreams;
  }

  /** The cached state of a stream as folded by `owner` (an aggregate), if any. */
  get<State>(owner: object, streamName: string): CachedState<State> | undefined {
    const entry = this.entries.get(streamName);
    // Another aggregate folding the same stream has another state: not ours to use.
    if (!entry || entry.owner !== owner) return undefined;
    this.entries.delete(streamName);
    this.entries.set(streamName, entry);
    return entry.cached as CachedState<State>;
  }

  /** Keeps a state unless a newer one of the same owner is cached already (racing commands). */
  set<State>(owner: object, streamName: string, cached: CachedState<State>): void {
    const current = this.entries.get(streamName);
    if (current && current.owner === owner && current.cached.revision > cached.revision) return;
    this.entries.delete(streamName);
    this.entries.set(streamName, { owner, cached });
    if (this.entries.size > this.maxStreams) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(streamName: string): void {
    this.entries.delete(streamName);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
