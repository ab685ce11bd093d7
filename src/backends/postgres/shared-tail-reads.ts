import type { EventFilter, RecordedEvent } from '../../event-store/event-store';
import type { FromPosition, Position } from '../../event-store/position';
import { matchesFilter } from '../../event-store/validation';
import type { AllPage } from './event-reads';

/** Reads one forwards page of `$all`: the event store's statement. */
export type ReadAllForwards = (after: FromPosition, limit: number, filter: EventFilter | undefined) => Promise<AllPage>;

/**
 * Readers whose cursors lie within this many positions (sequence numbers) of the most advanced one
 * share a read; one further behind is catching up and reads alone, so that it never turns the shared
 * read into a full page that the others cannot use.
 */
const SHARE_SPAN = 256n;

interface Request {
  readonly after: Position | 'start';
  readonly limit: number;
  readonly filter: EventFilter | undefined;
  readonly resolve: (page: AllPage) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Serves the forwards `$all` reads that arrive in the same turn of the event loop with one statement.
 * A commit wakes every subscriber of the store at once (reactors, projections, each with its own filter
 * and cursor), and each would otherwise send its own read of the same few new events: one round trip
 * per subscriber per commit. The shared read starts at the lowest cursor of the group, with the union of
 * the filters and the largest limit; each reader gets what its own read would have returned: the events
 * after its cursor that pass its filter, at most its limit. When the shared page is full it says nothing
 * about what lies beyond it, so a reader it did not fill reads again alone.
 *
 * @example
 * const reads = new SharedTailReads((after, limit, filter) => eventReads.allPageForwards(after, limit, filter));
 * const page = await reads.read(checkpoint, 1_000, { eventTypes: ['OrderPlaced'] });
 */
export class SharedTailReads {
  private queued: Request[] = [];

  constructor(private readonly readPage: ReadAllForwards) {}

  /** The same page as `readPage(after, limit, filter)` would give, read together with the others of this turn. */
  read(after: Position | 'start', limit: number, filter: EventFilter | undefined): Promise<AllPage> {
    return new Promise((resolve, reject) => {
      // The subscribers woken by one commit all ask within the microtasks of that wake-up: gather them
      // until the loop turns.
      if (this.queued.length === 0) setImmediate(() => this.flush());
      this.queued.push({ after, limit, filter, resolve, reject });
    });
  }

  private flush(): void {
    const requests = this.queued;
    this.queued = [];
    const front = requests.reduce<bigint>((most, request) => (request.after === 'start' ? most : max(most, request.after.prepare)), 0n);
    const shared: Request[] = [];
    for (const request of requests) {
      if (request.after !== 'start' && request.after.prepare + SHARE_SPAN >= front) shared.push(request);
      else if (request.after === 'start' && front <= SHARE_SPAN) shared.push(request);
      else this.alone(request);
    }
    if (shared.length === 1) this.alone(shared[0]!);
    else if (shared.length > 1) void this.together(shared);
  }

  private alone(request: Request): void {
    this.readPage(request.after, request.limit, request.filter).then(request.resolve, request.reject);
  }

  private async together(requests: readonly Request[]): Promise<void> {
    let from: Position | 'start' = requests[0]!.after;
    let limit = 0;
    for (const request of requests) {
      if (from !== 'start' && (request.after === 'start' || request.after.isBefore(from))) from = request.after;
      limit = Math.max(limit, request.limit);
    }
    let page: AllPage;
    try {
      page = await this.readPage(from, limit, unionOf(requests.map((request) => request.filter)));
    } catch (error) {
      for (const request of requests) request.reject(error);
      return;
    }
    const complete = page.events.length < limit;
    for (const request of requests) {
      const events: RecordedEvent[] = [];
      for (const event of page.events) {
        if (events.length === request.limit) break;
        if (request.after !== 'start' && !event.position.isAfter(request.after)) continue;
        if (matchesFilter(request.filter, event.streamName, event.type)) events.push(event);
      }
      if (events.length === request.limit) request.resolve({ events, hidden: false });
      else if (complete) request.resolve({ events, hidden: page.hidden });
      // A full shared page that left this reader short: what lies beyond it is unknown.
      else this.alone(request);
    }
  }
}

/** The filter that passes every event any of `filters` passes (undefined: everything). */
function unionOf(filters: ReadonlyArray<EventFilter | undefined>): EventFilter | undefined {
  let eventTypes: Set<string> | undefined = new Set();
  let streamPrefixes: Set<string> | undefined = new Set();
  for (const filter of filters) {
    if (!filter) return undefined;
    if (!filter.eventTypes) eventTypes = undefined;
    else if (eventTypes) for (const type of filter.eventTypes) eventTypes.add(type);
    if (!filter.streamPrefixes) streamPrefixes = undefined;
    else if (streamPrefixes) for (const prefix of filter.streamPrefixes) streamPrefixes.add(prefix);
  }
  // Types and prefixes are each a union: an event of one reader's type on another reader's stream
  // passes too, and is sorted out per reader.
  return {
    ...(eventTypes && { eventTypes: [...eventTypes] }),
    ...(streamPrefixes && { streamPrefixes: [...streamPrefixes] }),
  };
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
