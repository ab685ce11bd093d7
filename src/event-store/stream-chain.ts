import { GENESIS_HASH, eventHash, type HashedEventFields } from './hash-chain';
import type { ChainBreak } from './verify-store';

/**
 * The per-stream hash chain of a store that keeps each event's hash with the event itself and has no
 * `$all` chain (EventStoreDB, where the hash rides in the event's metadata). The hash is the one every
 * backend computes (`eventHash` in hash-chain.ts); what differs is that the event also records the
 * `previous` hash it was chained to, so that an event can be checked on its own when its predecessor is
 * not read (a read from the middle of a stream, or a predecessor the server hides after a soft delete or
 * a `truncateBefore`), and its link to the predecessor checked when it is.
 *
 * The rule for events written before the chain existed (no hash): a stream is chained from its first
 * hashed event on. Unhashed events before it are *unchained* (counted, not checked, not a break); an
 * unhashed event after a hashed one is a break, and the first hashed event after unhashed ones must be
 * chained to nothing (`previous` = 32 zero bytes), which is how the writer starts a chain on a stream it
 * finds unhashed.
 */

/** What an event records of its place in the chain. */
export interface ChainLink {
  readonly hash: Buffer;
  readonly previous: Buffer;
}

/** An event as a per-stream chain sees it: the fields its hash covers, and the link it carries. */
export interface StreamChainEvent extends HashedEventFields {
  /** null: the event carries no hash (written before the chain existed); 'malformed': it carries one that cannot be read. */
  readonly link: ChainLink | null | 'malformed';
}

interface Seen {
  readonly revision: bigint;
  /** The stored hash (null: unhashed; undefined: unreadable), which the next event must be chained to. */
  readonly hash: Buffer | null | undefined;
  readonly link: ChainLink | null;
}

/**
 * Checks the events of one stream in the order they are read (forwards or backwards), each against its
 * own hash and against its neighbour. Constant memory; linear in the events.
 *
 * @example
 * const check = new StreamChainCheck('order-1', 'forwards');
 * for (const event of events) { const found = check.next(event); if (found) throw … }
 */
export class StreamChainCheck {
  private last: Seen | undefined;
  /** Whether no event was checked yet. */
  get isFirst(): boolean {
    return this.last === undefined;
  }

  /** Events read that carry no hash and come before the chain starts. */
  unchained = 0;

  constructor(
    readonly streamName: string,
    readonly direction: 'forwards' | 'backwards',
  ) {}

  /** The first break this event shows (its own hash, or its link with the event read before it), if any. */
  next(event: StreamChainEvent): ChainBreak | undefined {
    const own = this.checkOwn(event);
    const seen: Seen = {
      revision: event.revision,
      hash: event.link === null ? null : event.link === 'malformed' ? undefined : event.link.hash,
      link: event.link === null || event.link === 'malformed' ? null : event.link,
    };
    const previous = this.last;
    this.last = seen;
    let link: ChainBreak | undefined;
    if (previous) link = this.direction === 'forwards' ? this.checkLink(previous, seen) : this.checkLink(seen, previous);
    if (event.link === null && !link) {
      // Unchained only while no hashed event came before it in the stream: forwards, the one read before;
      // backwards, a break shows up when the older, hashed event is read.
      if (this.direction === 'backwards' || !previous || previous.hash === null) this.unchained++;
    }
    return own ?? link;
  }

  private checkOwn(event: StreamChainEvent): ChainBreak | undefined {
    const where = `stream "${this.streamName}" revision ${event.revision}`;
    if (event.link === 'malformed') {
      return this.found('event-altered', event.revision, `${where} (id ${event.id}) carries a chain record that cannot be read: its metadata was changed outside the kit`);
    }
    if (event.link === null) return undefined;
    if (event.revision === 0n && !event.link.previous.equals(GENESIS_HASH)) {
      return this.found('event-altered', 0n, `${where} (id ${event.id}) is chained to an event before the first one: it was moved`);
    }
    if (!eventHash(event.link.previous, event).equals(event.link.hash)) {
      return this.found(
        'event-altered',
        event.revision,
        `${where} (id ${event.id}) does not match its hash: its data, metadata, type or place was changed outside the kit`,
      );
    }
    return undefined;
  }

  /** The link between two events read one after the other, given in stream order. */
  private checkLink(older: Seen, newer: Seen): ChainBreak | undefined {
    const name = this.streamName;
    // An unreadable record was reported already; what it was chained to cannot be known.
    if (older.hash === undefined || newer.hash === undefined) return undefined;
    if (newer.revision !== older.revision + 1n) {
      return this.found(
        'event-missing',
        older.revision + 1n,
        `stream "${name}": revision ${newer.revision} follows revision ${older.revision}; revision ${older.revision + 1n} is missing or moved`,
      );
    }
    if (newer.link === null) {
      if (older.hash === null) return undefined;
      return this.found('event-unhashed', newer.revision, `stream "${name}" revision ${newer.revision} has no hash but follows a hashed event: it was written around the kit or its hash removed`);
    }
    if (older.hash === null) {
      if (newer.link.previous.equals(GENESIS_HASH)) return undefined;
      return this.found('event-unhashed', older.revision, `stream "${name}" revision ${older.revision} has no hash, but revision ${newer.revision} is chained to one: its hash was removed`);
    }
    if (!newer.link.previous.equals(older.hash)) {
      return this.found(
        'event-missing',
        newer.revision,
        `stream "${name}" revision ${newer.revision} is not chained to revision ${older.revision}: an event before it was removed, replaced or moved`,
      );
    }
    return undefined;
  }

  private found(kind: ChainBreak['kind'], revision: bigint, message: string): ChainBreak {
    return { kind, streamName: this.streamName, revision, message };
  }
}

/** What a store that chains each stream on its own, with no `$all` chain, gives `verifyStore`. */
export interface StreamChainedStore {
  /** Every stream the store holds, each once, and how many events it holds (for progress). */
  surveyStreams(): Promise<{ readonly streamNames: readonly string[]; readonly eventCount: number }>;
  /** One stream's events, forwards, as the chain sees them: what the store shows of the stream. */
  readStreamChain(streamName: string): AsyncIterable<StreamChainEvent>;
  /**
   * When a stream's first shown event is not revision 0: the break that makes, unless the stream's own
   * settings hide the events before it (a soft delete, `truncateBefore`, `maxCount`, `maxAge`).
   */
  checkStreamStart(streamName: string, firstRevision: bigint): Promise<ChainBreak | undefined>;
  /** What a check of this store cannot prove, one sentence each; `verifyStore` puts them in its report. */
  chainLimits(): readonly string[];
}

/** Whether a store chains each stream on its own (and has no `$all` chain). */
export function isStreamChainedStore(store: unknown): store is StreamChainedStore {
  const candidate = store as Partial<StreamChainedStore> | undefined;
  return typeof candidate?.surveyStreams === 'function' && typeof candidate.readStreamChain === 'function';
}
