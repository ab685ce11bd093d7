import type * as Esdb from '@eventstore/db-client';
import type {
  AppendResult as EsdbAppendResult,
  EventStoreDBClient,
  RecordedEvent as EsdbRecordedEvent,
  ResolvedEvent,
  StreamingRead,
} from '@eventstore/db-client';
import { storedHash, toChainedEsdbEvents } from './eventstoredb-chain';
import { recordPosition, toEsdbExpectedRevision, toPosition, toRevision, toStoredDecision } from './eventstoredb-mapping';
import { BatchTooLargeError, DuplicateEventIdError, StoreUnavailableError, WrongExpectedRevisionError } from '../../event-store/errors';
import type { AppendResult, ExpectedRevision, JsonObject } from '../../event-store/event-store';
import { GENESIS_HASH } from '../../event-store/hash-chain';
import { repeatsStoredEvents } from '../../event-store/idempotency';
import type { PreparedEvent } from '../../event-store/validation';

/**
 * Appends to EventStoreDB with the hash chain: each event's hash (see eventstoredb-chain.ts) covers its
 * revision and its predecessor's hash, so every write is made at an exact revision, read from the stream
 * just before; how a caller's expected revision, retries and ESDB's own idempotency fit that is told at
 * `appendAtRevision` and `appendAtHead`.
 */

/**
 * How many times an append without an exact expected revision (`any`, `stream_exists`, `no_stream`)
 * re-reads the stream's head and tries again after losing a race. Each lost round means another writer
 * appended, so this many writers racing on one stream all get through; past it the caller gets a
 * WrongExpectedRevisionError, a conflict it may retry.
 */
export const MAX_APPEND_ATTEMPTS = 10;

/**
 * How far back from a stream's head an append without an exact revision looks for its own events, to
 * recognise a retry (see `appendAtHead`). Read in the same backwards read as the head, and cut short
 * at the first hit; streams shorter than this are read whole.
 */
export const RETRY_LOOKBACK = 100;

/** What the appender uses of its store: the client, the client module (its error classes), reads, errors. */
export interface AppendHost {
  readonly esdb: typeof Esdb;
  readonly client: EventStoreDBClient;
  /** One read through the store: cancelled when the consumer stops early, ended when the store closes. */
  scan<Item, Result>(open: () => StreamingRead<Item>, select: (item: Item) => Result | undefined, maxCount?: number): AsyncIterable<Result>;
  toStoreError(error: unknown): Error;
}

export class EventStoreDbAppender {
  constructor(private readonly host: AppendHost) {}

  /** Appends prepared events (with the caller's metadata, parsed) as the caller's expected revision asks. */
  append(streamName: string, prepared: readonly PreparedEvent[], metadata: readonly JsonObject[], expected: ExpectedRevision): Promise<AppendResult> {
    if (typeof expected === 'bigint' && expected >= 0n) return this.appendAtRevision(streamName, prepared, metadata, expected);
    return this.appendAtHead(streamName, prepared, metadata, expected);
  }

  /**
   * An append at the caller's exact revision. Its idempotency is ESDB's own, as before the chain: a retry
   * (same ids, same expected revision) finds its events at the revisions after `expected`, and ESDB answers
   * with the original result without writing; `appendResult` then checks that what is stored is this very
   * decision. The retry's hashes may differ from the original's (its metadata's `time` may), but they are
   * never written, so the stored chain stays the original's. This is the path `handleCommand` takes: it
   * always appends at the revision it decided on.
   */
  private async appendAtRevision(
    streamName: string,
    prepared: readonly PreparedEvent[],
    metadata: readonly JsonObject[],
    expected: bigint,
  ): Promise<AppendResult> {
    const tip = await this.chainTip(streamName, expected);
    // A predecessor the server hides (soft delete, truncateBefore) cannot be read: the events are then
    // chained from nothing, and reads check the first one on its own hash.
    const previous = tip?.revision === expected ? tip.hash : GENESIS_HASH;
    let response: EsdbAppendResult;
    try {
      response = await this.host.client.appendToStream(streamName, toChainedEsdbEvents(streamName, expected + 1n, previous, prepared, metadata), {
        expectedRevision: expected,
      });
    } catch (error) {
      return this.settleFailedAppend(streamName, prepared, expected, expected, error);
    }
    return this.appendResult(streamName, prepared, response);
  }

  /**
   * An append with no exact revision from the caller (`any`, `stream_exists`, `no_stream` or -1n): made at
   * the head it reads, retried from a new read when another writer got there first.
   *
   * Idempotency. Without the chain, ESDB deduplicated an `any` retry itself, by matching its ids against
   * those it committed recently. An exact expected revision equal to the stream's head turns that check
   * off on the server (ESDB then writes without looking at ids), so this method makes it instead, where
   * a retry can show:
   * - the head read goes on past the last event through the stream's last {@link RETRY_LOOKBACK} events
   *   (one backwards read, stopped at the first hit) and finds one of this append's ids: the original
   *   landed (a retry after a timeout or a lost answer, with or without appends after it). The stored
   *   events are compared with this append by the kit's one rule (`repeatsStoredEvents`): the same
   *   decision gets the original result and nothing is written; anything else is a DuplicateEventIdError,
   *   as on every backend. `no_stream` looks at revision 0, the only place its original can be.
   * - the write is refused because the stream moved: the events that moved it, at the revisions this
   *   append would have taken, are looked at first. If they hold this append's first id (the original
   *   committed while the retry was reading), the retry settles the same way instead of appending again.
   * A retry whose original is further back than the lookback is written again (chained like any events).
   * The other backends catch that case through their store-wide unique event ids; ESDB has no index by
   * event id, and its own `any` check only covered ids in its recent-commit cache, so this keeps the
   * same kind of bound. The kit's commands never depend on it: they append at exact revisions, and
   * `recogniseRetry` answers a retried command from the stream before any append is tried.
   */
  private async appendAtHead(
    streamName: string,
    prepared: readonly PreparedEvent[],
    metadata: readonly JsonObject[],
    expected: ExpectedRevision,
  ): Promise<AppendResult> {
    const ids = prepared.map((event) => event.id);
    let hiddenHead: bigint | undefined;
    let actual = -1n;
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const { tip, seen } = await this.headAndRepeat(streamName, ids);
      let revision: bigint;
      let previous: Buffer;
      if (tip) {
        if (seen || expected === 'no_stream' || expected === -1n) {
          const slot = seen ? seen.revision - BigInt(ids.indexOf(seen.id)) : 0n;
          const earlier = await this.appendAt(streamName, prepared, slot);
          if (earlier instanceof Error) throw earlier;
          // A no_stream append's original can only have started the stream (as in resolveRepeatedAppend).
          if (earlier && slot !== 0n && expected !== 'any' && expected !== 'stream_exists') {
            throw new WrongExpectedRevisionError(streamName, expected, tip.revision);
          }
          if (earlier) return earlier;
          if (seen) {
            throw new DuplicateEventIdError(seen.id, `stream "${streamName}" holds it at revision ${seen.revision}, but this append does not repeat an earlier append there`);
          }
          throw new WrongExpectedRevisionError(streamName, expected, tip.revision);
        }
        revision = tip.revision;
        previous = tip.hash;
      } else {
        // No event to be seen. The stream may still have hidden ones (a soft delete keeps the revisions
        // counting, and ESDB accepts the next append after them): their last revision is where this
        // append must chain from, else its hashes would cover revisions it does not get.
        // A stream whose events are all hidden does not exist for reads, so it does not for stream_exists.
        if (expected === 'stream_exists') throw new WrongExpectedRevisionError(streamName, expected, -1n);
        hiddenHead ??= await this.hiddenHead(streamName);
        revision = hiddenHead ?? -1n;
        previous = GENESIS_HASH;
      }
      let response: EsdbAppendResult;
      try {
        response = await this.host.client.appendToStream(streamName, toChainedEsdbEvents(streamName, revision + 1n, previous, prepared, metadata), {
          expectedRevision: toEsdbExpectedRevision(revision),
        });
      } catch (error) {
        if (!(error instanceof this.host.esdb.WrongExpectedVersionError)) return this.settleFailedAppend(streamName, prepared, revision, expected, error);
        const earlier = await this.appendAt(streamName, prepared, revision + 1n);
        if (earlier instanceof Error) throw earlier;
        if (earlier) return earlier;
        actual = toRevision(error.actualVersion);
        // Only used while the head stays hidden: the server's own word on where the stream is.
        hiddenHead = actual >= 0n ? actual : undefined;
        continue;
      }
      return this.appendResult(streamName, prepared, response);
    }
    throw new WrongExpectedRevisionError(streamName, expected, actual);
  }

  /**
   * The stream's last event at or before `at` that the server shows, with the hash the next event
   * chains to: its stored hash, or 32 zero bytes when it has none (a stream written before the chain
   * existed starts its chain there). Undefined when the server shows none.
   */
  private async chainTip(streamName: string, at: bigint | 'end'): Promise<ChainTip | undefined> {
    const records = this.host.scan(
      () => this.host.client.readStream(streamName, { direction: 'backwards', fromRevision: at, maxCount: 1 }),
      (resolved: ResolvedEvent) => resolved.event,
      1,
    );
    for await (const record of records) return toChainTip(record);
    return undefined;
  }

  /**
   * The stream's head (as `chainTip`), and the newest of its last {@link RETRY_LOOKBACK} events that
   * carries one of `ids`, if any: one backwards read, which stops at that event.
   */
  private async headAndRepeat(streamName: string, ids: readonly string[]): Promise<{ tip?: ChainTip; seen?: { revision: bigint; id: string } }> {
    const wanted = new Set(ids);
    const records = this.host.scan(
      () => this.host.client.readStream(streamName, { direction: 'backwards', fromRevision: 'end', maxCount: RETRY_LOOKBACK }),
      (resolved: ResolvedEvent) => resolved.event,
      RETRY_LOOKBACK,
    );
    let tip: ChainTip | undefined;
    for await (const record of records) {
      tip ??= toChainTip(record);
      if (wanted.has(record.id)) return { tip, seen: { revision: record.revision, id: record.id } };
    }
    return tip ? { tip } : {};
  }

  /**
   * Where a stream whose events the server hides all of may end, or undefined when its settings hide
   * nothing (a new stream). After `truncateBefore` the last hidden revision is just before it; a soft
   * delete sets it to long.MaxValue until the stream is written again, which names no revision: the
   * answer is then a guess, and the server's refusal gives the revision (see `appendAtHead`). Read
   * only when no event can be seen, which for most streams means their first append.
   */
  private async hiddenHead(streamName: string): Promise<bigint | undefined> {
    let truncateBefore: unknown;
    try {
      truncateBefore = (await this.host.client.getStreamMetadata(streamName)).metadata?.truncateBefore;
    } catch (error) {
      throw this.host.toStoreError(error);
    }
    if (typeof truncateBefore !== 'number' || truncateBefore <= 0) return undefined;
    // Any exact revision is a safe guess: ESDB writes at exactly the revision after it or refuses, and its
    // refusal names the stream's real revision for the next attempt.
    return Number.isSafeInteger(truncateBefore) ? BigInt(truncateBefore) - 1n : 0n;
  }

  /**
   * The append's own answer is not always the `$all` position that reads and subscriptions report for
   * the last event: a retry ESDB deduplicated gets no position from servers before 23.x and only a log
   * position from later ones, and some versions answer (commit, commit) rather than the event's
   * (commit, prepare). Reading the appended events back gives the exact position, so a checkpoint taken
   * from an append compares correctly with events read later. The answer is the fallback when the
   * read-back misses (a follower that is behind).
   *
   * The read-back is also the idempotency check ESDB cannot make: it deduplicates by event id alone, so an
   * append whose ids are stored with another decision (a command id reused by a racing caller) is
   * "successful" without writing anything. What is stored must be this very decision, else the append is
   * refused like on every other backend.
   */
  private async appendResult(
    streamName: string,
    prepared: readonly PreparedEvent[],
    response: EsdbAppendResult,
  ): Promise<AppendResult> {
    const revision = response.nextExpectedRevision;
    const first = revision - BigInt(prepared.length) + 1n;
    const stored = await this.eventsAt(streamName, first, prepared.length).catch(() => []);
    if (stored.length === prepared.length && !repeatsStoredEvents(prepared, stored.map(toStoredDecision))) {
      throw new DuplicateEventIdError(
        prepared[0]!.id,
        `stream "${streamName}" holds it at revision ${first} with another decision; EventStoreDB deduplicated the append by id`,
      );
    }
    const last = stored[stored.length - 1];
    const position = last?.id === prepared[prepared.length - 1]!.id && last.position ? last.position : response.position;
    if (!position) {
      throw new StoreUnavailableError(
        `EventStoreDB appended to "${streamName}" up to revision ${revision} but reported no position for it`,
      );
    }
    return { revision, position: toPosition(position) };
  }

  private async eventsAt(streamName: string, fromRevision: bigint, count: number): Promise<EsdbRecordedEvent[]> {
    const stored: EsdbRecordedEvent[] = [];
    const records = this.host.scan(
      () => this.host.client.readStream(streamName, { direction: 'forwards', fromRevision, maxCount: count }),
      (resolved: ResolvedEvent) => resolved.event,
      count,
    );
    for await (const record of records) stored.push(record);
    return stored;
  }

  /**
   * Settles an append ESDB refused or left unanswered against what the stream holds. ESDB answers "wrong
   * expected version" both to a real conflict and to a retry that repeats only part of an earlier append,
   * and it drops, unanswered, a retry that arrives while the original is still being replicated (the
   * caller sees a timeout). What sits where this append's first event would have gone tells these apart.
   *
   * @param writtenAt the exact revision the write expected (-1n: no stream)
   * @param expected what the caller asked for, for the error
   */
  private async settleFailedAppend(
    streamName: string,
    prepared: readonly PreparedEvent[],
    writtenAt: bigint,
    expected: ExpectedRevision,
    error: unknown,
  ): Promise<AppendResult> {
    const { WrongExpectedVersionError, DeadlineExceededError, TimeoutError, MaxAppendSizeExceededError } = this.host.esdb;
    if (
      error instanceof WrongExpectedVersionError ||
      error instanceof DeadlineExceededError ||
      error instanceof TimeoutError
    ) {
      const earlier = await this.appendAt(streamName, prepared, writtenAt + 1n).catch(() => undefined);
      if (earlier instanceof Error) throw earlier;
      if (earlier) return earlier;
      if (error instanceof WrongExpectedVersionError) {
        throw new WrongExpectedRevisionError(streamName, expected, toRevision(error.actualVersion));
      }
    }
    if (error instanceof MaxAppendSizeExceededError) {
      throw new BatchTooLargeError(
        `the append is over the EventStoreDB server's MaxAppendSize of ${error.maxAppendSize} bytes`,
      );
    }
    throw this.host.toStoreError(error);
  }

  /**
   * The result of an earlier append of these very events when the stream holds this append's first
   * event at `slot` (the same rule as `resolveRepeatedAppend`); a DuplicateEventIdError when it holds it
   * there with only some of the ids or another decision under them; undefined when it is not there.
   */
  private async appendAt(
    streamName: string,
    prepared: readonly PreparedEvent[],
    slot: bigint,
  ): Promise<AppendResult | DuplicateEventIdError | undefined> {
    const firstId = prepared[0]!.id;
    if (slot < 0n) return undefined;
    const stored = await this.eventsAt(streamName, slot, prepared.length);
    if (stored[0]?.id !== firstId) return undefined;
    if (!repeatsStoredEvents(prepared, stored.map(toStoredDecision))) {
      return new DuplicateEventIdError(
        firstId,
        `stream "${streamName}" holds it at revision ${slot}, but this append does not repeat that earlier append exactly`,
      );
    }
    const last = stored[stored.length - 1]!;
    return { revision: last.revision, position: recordPosition(last) };
  }
}

/** Where the next append to a stream chains from: its last shown event's revision, id and hash. */
interface ChainTip {
  readonly revision: bigint;
  readonly id: string;
  readonly hash: Buffer;
}

function toChainTip(record: EsdbRecordedEvent): ChainTip {
  return { revision: record.revision, id: record.id, hash: storedHash(record) ?? GENESIS_HASH };
}

