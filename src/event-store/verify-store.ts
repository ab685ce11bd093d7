import { InvalidArgumentError } from './errors';
import type { EventStore } from './event-store';
import { GENESIS_HASH, batchHash, eventHash, isHashChainedStore, type ChainBatch, type ChainSnapshot, type ChainedEvent } from './hash-chain';
import type { Archive } from './archive';
import { parseArchivedTo } from './archive-name';
import { lifecycleHash, parseStreamMetadata } from './stream-lifecycle';
import { StreamChainCheck, isStreamChainedStore, type StreamChainedStore } from './stream-chain';
import { validateStreamName } from './validation';

/** What kind of break `verifyStore` found. */
export type ChainBreakKind =
  /** The event's content (data, metadata, type, id, stream or revision) is not what its hash covers. */
  | 'event-altered'
  /** A stream's revisions are not consecutive where the chain expects them: an event was deleted or moved. */
  | 'event-missing'
  /** A row has no hash: it was written around the kit. */
  | 'event-unhashed'
  /** A batch of `$all` holds other events, or other hashes, than when it was committed. */
  | 'batch-altered'
  /** A batch number is missing from the `$all` chain. */
  | 'batch-missing'
  /** An event that no batch covers: written around the kit. */
  | 'event-unchained'
  /** The stream table says a stream reaches further (or less far) than its events. */
  | 'stream-head'
  /** The chain's head is not the one the caller expected (the log was cut back or rewritten). */
  | 'head-mismatch'
  /** A lifecycle record (stream metadata, soft delete) was changed, removed or reordered. */
  | 'lifecycle-altered'
  /** An event has no payload but no archiving of its stream covers it: its content was removed outside the kit. */
  | 'archive-unrecorded'
  /** An archived event's archive was not given, or does not hold it (checked only when archives are given). */
  | 'archive-missing'
  /** An archived event's content in its archive does not match its stub's hash, or an archive's SHA-256 is not the recorded one. */
  | 'archive-altered';

/** One place where the chain breaks. */
export interface ChainBreak {
  readonly kind: ChainBreakKind;
  readonly streamName?: string;
  readonly revision?: bigint;
  readonly batch?: bigint;
  /** A sentence naming the stream and revision (or the batch) and what is wrong there. */
  readonly message: string;
}

/** The chain's head: its last batch and that batch's hash (hex). Keep it to detect a log cut back later. */
export interface ChainHead {
  readonly batch: bigint;
  readonly hash: string;
}

export interface VerifyProgress {
  readonly eventsChecked: number;
  /** Every event the store holds, when known. */
  readonly eventsTotal: number;
}

export interface VerifyOptions {
  /** Check only these streams' chains (and their heads); default: the whole store, `$all` chain included. */
  readonly streams?: readonly string[];
  /** A head recorded earlier (e.g. by a previous `verify`): the chain must still contain it unchanged. */
  readonly expectHead?: ChainHead;
  /** Called after each page with how far the check has come. */
  readonly onProgress?: (progress: VerifyProgress) => void;
  /** Breaks listed before the check stops listing (it still counts them). Default 100. */
  readonly maxBreaks?: number;
  /** Batches read per round trip. Default 500. */
  readonly pageSize?: number;
  /**
   * Archives (`openArchive`) to check archived events against: each archived event's content must be in
   * the archive its lifecycle record names and match its stub's hash. Without them, archived events are
   * counted, and their stubs checked in the chains, but their content is not.
   */
  readonly archives?: readonly Archive[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly eventsChecked: number;
  readonly batchesChecked: number;
  readonly streamsChecked: number;
  /** How many of the events checked are archived (a stub in the store, the content in an archive). */
  readonly eventsArchived: number;
  /** How many archived events were checked against the archives given. */
  readonly archivedChecked: number;
  /** The head of the `$all` chain (absent for an empty store or a check of named streams). */
  readonly head?: ChainHead;
  readonly breaks: readonly ChainBreak[];
  /** How many breaks there were in all (`breaks` lists the first `maxBreaks`). */
  readonly breakCount: number;
  /**
   * Events that carry no hash because they were written before the chain existed, so nothing about
   * them is proven (EventStoreDB, where a stream is chained from its first hashed event on).
   */
  readonly unchainedEvents?: number;
  /** What this check cannot prove on this store, one sentence each (EventStoreDB: it has no `$all` chain). */
  readonly notProven?: readonly string[];
}

/** The store keeps no hash chain, or not the one an option needs (EventStoreDB has no `$all` chain head). */
export class StoreNotChainedError extends InvalidArgumentError {}

const STREAM_PAGE = 1_000;

/**
 * Checks the whole hash chain: every event against its hash and its stream's previous event, every
 * `$all` batch against its events and the batch before it, and every stream table row against its
 * events. Anything changed outside the kit — data, metadata, type, order or presence — is reported with
 * the stream and revision (or the batch) where the chain breaks. Reads one consistent snapshot; memory
 * use grows with the number of streams (one head per stream), not events.
 *
 * On EventStoreDB, which has no `$all` chain, it checks every stream's own chain (the hash rides in each
 * event's metadata) and lists in `notProven` what that cannot show, such as a whole stream deleted.
 *
 * @example
 * const report = await verifyStore(store);
 * if (!report.ok) for (const b of report.breaks) console.error(b.message);
 */
export async function verifyStore(store: EventStore, options: VerifyOptions = {}): Promise<VerifyReport> {
  if (!isHashChainedStore(store) && isStreamChainedStore(store)) return verifyStreamChains(store, options);
  if (!isHashChainedStore(store)) {
    throw new StoreNotChainedError(`the ${store.backend} store keeps no hash chain to verify`);
  }
  const streams = options.streams;
  if (streams !== undefined) {
    if (!Array.isArray(streams)) throw new InvalidArgumentError('streams must be an array of stream names');
    for (const name of streams) validateStreamName(name);
  }
  const archives = options.archives;
  if (archives !== undefined && (!Array.isArray(archives) || archives.some((archive) => typeof (archive as Partial<Archive> | null)?.storedEvent !== 'function'))) {
    throw new InvalidArgumentError('archives must be an array of archives from openArchive');
  }
  const maxBreaks = options.maxBreaks ?? 100;
  const pageSize = options.pageSize ?? 500;
  const snapshot = await store.openChainSnapshot();
  const findings = new Findings(maxBreaks);
  try {
    const archived = new ArchivedEvents(await readArchiveRecords(snapshot, pageSize), archives, findings);
    if (streams) return await verifyStreams(snapshot, streams, findings, archived, options);
    return await verifyAll(snapshot, findings, archived, pageSize, options);
  } finally {
    await snapshot.close();
  }
}

class Findings {
  readonly breaks: ChainBreak[] = [];
  count = 0;
  constructor(private readonly max: number) {}
  add(found: ChainBreak): void {
    this.count++;
    if (this.breaks.length < this.max) this.breaks.push(found);
  }
}

interface StreamTip {
  revision: bigint;
  hash: Buffer;
}

interface ArchiveRecord {
  readonly streamName: string;
  readonly archivedBefore: bigint;
  readonly archivedTo: string;
}

/** The lifecycle log's archivings by sequence (what each stub's reference must name). */
async function readArchiveRecords(snapshot: ChainSnapshot, pageSize: number): Promise<Map<bigint, ArchiveRecord>> {
  const records = new Map<bigint, ArchiveRecord>();
  for (let after = 0n; ; ) {
    const page = await snapshot.readLifecycle(after, pageSize);
    for (const record of page) {
      if (record.action !== 'archive') continue;
      let metadata;
      try {
        metadata = parseStreamMetadata(record.metadata);
      } catch {
        continue; // An unreadable record is the lifecycle check's finding.
      }
      if (metadata.archivedBefore !== undefined && metadata.archivedTo !== undefined) {
        records.set(record.sequence, { streamName: record.streamName, archivedBefore: metadata.archivedBefore, archivedTo: metadata.archivedTo });
      }
    }
    if (page.length < pageSize) return records;
    after = page[page.length - 1]!.sequence;
  }
}

/** Checks archived events' stubs against the lifecycle log and, given the archives, their content. */
class ArchivedEvents {
  count = 0;
  checked = 0;
  private readonly bySha = new Map<string, Archive>();
  private readonly byName = new Map<string, Archive>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly records: ReadonlyMap<bigint, ArchiveRecord>,
    private readonly archives: readonly Archive[] | undefined,
    private readonly findings: Findings,
  ) {
    for (const archive of archives ?? []) {
      this.bySha.set(archive.sha256, archive);
      if (archive.name !== undefined) this.byName.set(archive.name, archive);
    }
  }

  /** Checks a stub: its lifecycle reference and, given the archives, its archived content against its hash. */
  check(event: ChainedEvent, previous: Buffer): void {
    this.count++;
    const where = `stream "${event.streamName}" revision ${event.revision}`;
    const record = this.records.get(event.archivedBy!);
    if (!record || record.streamName !== event.streamName || record.archivedBefore <= event.revision) {
      this.findings.add({
        kind: 'archive-unrecorded',
        streamName: event.streamName,
        revision: event.revision,
        message: `${where} has no payload, but no archiving of the stream in the lifecycle log covers it (it names record ${event.archivedBy}): its content was removed outside the kit`,
      });
      return;
    }
    if (!this.archives) return;
    const named = parseArchivedTo(record.archivedTo);
    let archive = named ? this.bySha.get(named.sha256) : undefined;
    if (!archive && named) {
      archive = this.byName.get(named.name);
      if (archive && !this.reported.has(named.name)) {
        this.reported.add(named.name);
        this.findings.add({
          kind: 'archive-altered',
          streamName: event.streamName,
          message: `archive ${named.name} has SHA-256 ${archive.sha256}, not the ${named.sha256} recorded when it was written: it was changed since`,
        });
      }
    }
    if (!archive) {
      const key = `missing:${record.archivedTo}`;
      if (!this.reported.has(key)) {
        this.reported.add(key);
        this.findings.add({
          kind: 'archive-missing',
          streamName: event.streamName,
          revision: event.revision,
          message: `${where} is archived in ${named?.name ?? record.archivedTo}, which was not among the archives given`,
        });
      }
      return;
    }
    const content = archive.storedEvent(event.streamName, event.revision);
    if (!content) {
      this.findings.add({ kind: 'archive-missing', streamName: event.streamName, revision: event.revision, message: `${where} is not in its archive ${archive.name ?? archive.sha256}` });
      return;
    }
    this.checked++;
    if (!event.hash || !eventHash(previous, { ...content, streamName: event.streamName, revision: event.revision }).equals(event.hash)) {
      this.findings.add({
        kind: 'archive-altered',
        streamName: event.streamName,
        revision: event.revision,
        message: `${where} in archive ${archive.name ?? archive.sha256} does not match the hash the store kept for it: the archive or the stub was changed`,
      });
    }
  }
}

/** Checks one event against its stream's tip; returns the stored hash the next event must follow. */
function checkEvent(event: ChainedEvent, tip: StreamTip | undefined, findings: Findings, archived: ArchivedEvents): Buffer {
  const where = `stream "${event.streamName}" revision ${event.revision}`;
  const expectedRevision = tip ? tip.revision + 1n : 0n;
  const previous = tip?.hash ?? GENESIS_HASH;
  if (event.revision !== expectedRevision) {
    findings.add({
      kind: 'event-missing',
      streamName: event.streamName,
      revision: expectedRevision,
      message: tip
        ? `stream "${event.streamName}": revision ${event.revision} follows revision ${tip.revision}; revision ${expectedRevision} is missing or moved`
        : `stream "${event.streamName}" starts at revision ${event.revision}; revision 0 is missing or moved`,
    });
  }
  if (!event.hash) {
    findings.add({ kind: 'event-unhashed', streamName: event.streamName, revision: event.revision, message: `${where} has no hash: it was written around the kit` });
    return eventHash(previous, event);
  }
  if (event.archivedBy !== undefined) {
    // The content is in the archive: the stub's hash carries the stream's chain, the $all batch covers it.
    archived.check(event, previous);
    return event.hash;
  }
  const recomputed = eventHash(previous, event);
  if (!recomputed.equals(event.hash)) {
    findings.add({
      kind: 'event-altered',
      streamName: event.streamName,
      revision: event.revision,
      message: `${where} (id ${event.id}) does not match its hash: its data, metadata, type or place was changed outside the kit`,
    });
  }
  return event.hash;
}

async function verifyAll(snapshot: ChainSnapshot, findings: Findings, archived: ArchivedEvents, pageSize: number, options: VerifyOptions): Promise<VerifyReport> {
  const tips = new Map<string, StreamTip>();
  const eventsTotal = Number(await snapshot.countEvents());
  let eventsChecked = 0;
  let batchesChecked = 0;
  let previousBatch = GENESIS_HASH;
  let lastBatch = 0n;
  let expectedHeadSeen = options.expectHead === undefined;
  let lastEvent: ChainedEvent | undefined;
  /** Checks a batch's events (and their streams' chains); returns the stored event hashes in order. */
  const checkBatchEvents = (batch: ChainBatch): Buffer[] =>
    batch.events.map((event) => {
      const hash = checkEvent(event, tips.get(event.streamName), findings, archived);
      tips.set(event.streamName, { revision: event.revision, hash });
      return hash;
    });
  const reportAltered = (batch: ChainBatch, name: string, countChanged: boolean) => {
    const first = batch.events[0];
    findings.add({
      kind: 'batch-altered',
      ...(batch.hash ? { batch: batch.batch } : {}),
      ...(first ? { streamName: first.streamName, revision: first.revision } : {}),
      message: countChanged
        ? `${name} was committed with ${batch.eventCount} events but holds ${batch.events.length}${describeBatch(batch.events, lastEvent)}: events were deleted, added or moved`
        : `${name}${describeBatch(batch.events, lastEvent)} does not match its hash: its events or their order were changed`,
    });
  };
  for (;;) {
    const page = await snapshot.readBatches(lastBatch, pageSize);
    for (const batch of page) {
      if (batch.batch !== lastBatch + 1n) {
        findings.add({
          kind: 'batch-missing',
          batch: lastBatch + 1n,
          message: `$all batch ${lastBatch + 1n} is missing (the chain jumps from batch ${lastBatch} to ${batch.batch})`,
        });
      }
      const hashes = checkBatchEvents(batch);
      const stored = batch.hash ?? GENESIS_HASH;
      const recomputed = batchHash(previousBatch, batch.batch, hashes);
      if (batch.events.length !== batch.eventCount || !recomputed.equals(stored)) {
        reportAltered(batch, `$all batch ${batch.batch}`, batch.events.length !== batch.eventCount);
      }
      if (options.expectHead && batch.batch === options.expectHead.batch) {
        expectedHeadSeen = true;
        if (stored.toString('hex') !== options.expectHead.hash) {
          findings.add({ kind: 'head-mismatch', batch: batch.batch, message: `$all batch ${batch.batch} has hash ${stored.toString('hex')}, not the expected ${options.expectHead.hash}` });
        }
      }
      previousBatch = stored;
      lastBatch = batch.batch;
      lastEvent = batch.events[batch.events.length - 1] ?? lastEvent;
      batchesChecked++;
      eventsChecked += batch.events.length;
    }
    if (page.length > 0) options.onProgress?.({ eventsChecked, eventsTotal });
    if (page.length < pageSize) break;
  }
  // Committed, not sealed yet (PostgreSQL): each must hold exactly the events whose hashes it recorded.
  const pending = await snapshot.readPendingBatches();
  for (const batch of pending) {
    const hashes = checkBatchEvents(batch);
    if (batch.events.length !== batch.eventCount || !Buffer.concat(hashes).equals(batch.committedHashes ?? Buffer.alloc(0))) {
      reportAltered(batch, 'the newest $all batch (not sealed yet)', batch.events.length !== batch.eventCount);
    }
    lastEvent = batch.events[batch.events.length - 1] ?? lastEvent;
    batchesChecked++;
    eventsChecked += batch.events.length;
  }
  if (pending.length > 0) options.onProgress?.({ eventsChecked, eventsTotal });
  if (!expectedHeadSeen) {
    findings.add({
      kind: 'head-mismatch',
      batch: options.expectHead!.batch,
      message: `the chain ends at batch ${lastBatch}, before the expected head batch ${options.expectHead!.batch}: the log was cut back`,
    });
  }
  if (BigInt(eventsChecked) !== BigInt(eventsTotal)) {
    const stray = await snapshot.findUnchainedEvent();
    findings.add({
      kind: 'event-unchained',
      ...(stray ? { streamName: stray.streamName, revision: stray.revision } : {}),
      message: stray
        ? `stream "${stray.streamName}" revision ${stray.revision} (id ${stray.id}) is in no $all batch: it was written around the kit`
        : `the store holds ${eventsTotal} events but the $all chain covers ${eventsChecked}`,
    });
  }
  await checkStreamTable(snapshot, tips, findings);
  await checkLifecycle(snapshot, findings, pageSize);
  return {
    ok: findings.count === 0,
    eventsChecked,
    batchesChecked,
    streamsChecked: tips.size,
    eventsArchived: archived.count,
    archivedChecked: archived.checked,
    ...(lastBatch > 0n ? { head: { batch: lastBatch, hash: previousBatch.toString('hex') } } : {}),
    breaks: findings.breaks,
    breakCount: findings.count,
  };
}

/** The lifecycle log: consecutive, each record chained to the one before. */
async function checkLifecycle(snapshot: ChainSnapshot, findings: Findings, pageSize: number): Promise<void> {
  let previous = GENESIS_HASH;
  let last = 0n;
  for (;;) {
    const page = await snapshot.readLifecycle(last, pageSize);
    for (const record of page) {
      const where = `lifecycle record ${record.sequence} (${record.action} of stream "${record.streamName}")`;
      if (record.sequence !== last + 1n) {
        findings.add({ kind: 'lifecycle-altered', streamName: record.streamName, message: `lifecycle record ${last + 1n} is missing before ${where}` });
      }
      if (!record.hash || !lifecycleHash(previous, record).equals(record.hash)) {
        findings.add({ kind: 'lifecycle-altered', streamName: record.streamName, message: `${where} does not match its hash: it was changed outside the kit` });
      }
      previous = record.hash ?? previous;
      last = record.sequence;
    }
    if (page.length < pageSize) return;
  }
}

/** Every stream table row must match the last event the chain saw of it, and every chained stream must have a row. */
async function checkStreamTable(snapshot: ChainSnapshot, tips: Map<string, StreamTip>, findings: Findings): Promise<void> {
  const seen = new Set<string>();
  let after: string | undefined;
  for (;;) {
    const page = await snapshot.readStreamHeads(after, STREAM_PAGE);
    for (const head of page) {
      seen.add(head.streamName);
      const tip = tips.get(head.streamName);
      if (!tip || tip.revision !== head.revision) {
        const missingFrom = tip ? tip.revision + 1n : 0n;
        findings.add({
          kind: tip && tip.revision > head.revision ? 'stream-head' : 'event-missing',
          streamName: head.streamName,
          revision: tip && tip.revision > head.revision ? head.revision : missingFrom,
          message:
            tip && tip.revision > head.revision
              ? `stream "${head.streamName}" is recorded at revision ${head.revision} but its events reach revision ${tip.revision}`
              : `stream "${head.streamName}" is recorded at revision ${head.revision} but its events ${tip ? `end at revision ${tip.revision}` : 'are all gone'}: revision ${missingFrom} onwards is missing`,
        });
      }
    }
    if (page.length < STREAM_PAGE) break;
    after = page[page.length - 1]!.streamName;
  }
  for (const [streamName, tip] of tips) {
    if (!seen.has(streamName)) {
      findings.add({ kind: 'stream-head', streamName, revision: tip.revision, message: `stream "${streamName}" has events up to revision ${tip.revision} but no row in the stream table` });
    }
  }
}

async function verifyStreams(snapshot: ChainSnapshot, streams: readonly string[], findings: Findings, archived: ArchivedEvents, options: VerifyOptions): Promise<VerifyReport> {
  let eventsChecked = 0;
  for (const streamName of streams) {
    let tip: StreamTip | undefined;
    let from = 0n;
    for (;;) {
      const page = await snapshot.readStreamEvents(streamName, from, STREAM_PAGE);
      for (const event of page) {
        const hash = checkEvent(event, tip, findings, archived);
        tip = { revision: event.revision, hash };
        eventsChecked++;
      }
      options.onProgress?.({ eventsChecked, eventsTotal: eventsChecked });
      if (page.length < STREAM_PAGE) break;
      from = page[page.length - 1]!.revision + 1n;
    }
    const recorded = await snapshot.readStreamHead(streamName);
    if (recorded !== undefined && (tip?.revision ?? -1n) !== recorded) {
      findings.add({
        kind: 'event-missing',
        streamName,
        revision: (tip?.revision ?? -1n) + 1n,
        message: `stream "${streamName}" is recorded at revision ${recorded} but its events ${tip ? `end at revision ${tip.revision}` : 'are all gone'}`,
      });
    }
  }
  return {
    ok: findings.count === 0,
    eventsChecked,
    batchesChecked: 0,
    streamsChecked: streams.length,
    eventsArchived: archived.count,
    archivedChecked: archived.checked,
    breaks: findings.breaks,
    breakCount: findings.count,
  };
}

/**
 * The check of a store that chains each stream on its own (EventStoreDB): every stream's chain, read as
 * the store shows it. There is no `$all` chain to check, so the report says what that leaves unproven.
 */
async function verifyStreamChains(store: EventStore & StreamChainedStore, options: VerifyOptions): Promise<VerifyReport> {
  if (options.expectHead !== undefined) {
    throw new StoreNotChainedError(`the ${store.backend} store keeps no $all chain, so it has no head to compare with`);
  }
  const findings = new Findings(options.maxBreaks ?? 100);
  let streamNames: readonly string[];
  let eventsTotal: number;
  if (options.streams !== undefined) {
    if (!Array.isArray(options.streams)) throw new InvalidArgumentError('streams must be an array of stream names');
    for (const name of options.streams) validateStreamName(name);
    streamNames = options.streams;
    eventsTotal = 0;
  } else {
    ({ streamNames, eventCount: eventsTotal } = await store.surveyStreams());
  }
  let eventsChecked = 0;
  let unchainedEvents = 0;
  for (const streamName of streamNames) {
    const check = new StreamChainCheck(streamName, 'forwards');
    let first = true;
    for await (const event of store.readStreamChain(streamName)) {
      if (first && event.revision > 0n) {
        const cut = await store.checkStreamStart(streamName, event.revision);
        if (cut) findings.add(cut);
      }
      first = false;
      const found = check.next(event);
      if (found) findings.add(found);
      if (++eventsChecked % STREAM_PAGE === 0) options.onProgress?.({ eventsChecked, eventsTotal: Math.max(eventsTotal, eventsChecked) });
    }
    unchainedEvents += check.unchained;
    options.onProgress?.({ eventsChecked, eventsTotal: Math.max(eventsTotal, eventsChecked) });
  }
  const notProven = [...store.chainLimits()];
  if (unchainedEvents > 0) {
    notProven.push(`${unchainedEvents} event(s) carry no hash (written before the chain existed): they are unchained, and nothing about them is proven`);
  }
  return {
    ok: findings.count === 0,
    eventsChecked,
    batchesChecked: 0,
    streamsChecked: streamNames.length,
    // EventStoreDB keeps no archive stubs: archiving needs the $all chain.
    eventsArchived: 0,
    archivedChecked: 0,
    breaks: findings.breaks,
    breakCount: findings.count,
    unchainedEvents,
    notProven,
  };
}

function describeBatch(events: readonly ChainedEvent[], before: ChainedEvent | undefined): string {
  if (events.length === 0) {
    return before ? ` (right after stream "${before.streamName}" revision ${before.revision})` : ' (at the start of $all)';
  }
  const first = events[0]!;
  const last = events[events.length - 1]!;
  return events.length === 1
    ? ` (stream "${first.streamName}" revision ${first.revision})`
    : ` (from stream "${first.streamName}" revision ${first.revision} to stream "${last.streamName}" revision ${last.revision})`;
}
