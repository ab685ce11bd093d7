import { InvalidArgumentError } from './errors';
import type { EventStore } from './event-store';
import { GENESIS_HASH, batchHash, eventHash, isHashChainedStore } from './hash-chain';
import { validateStreamName } from './validation';
import { StoreNotChainedError, type ChainBreak, type ChainHead } from './verify-store';

/** The first line of a proof file. */
export interface ProofHeader {
  readonly kind: 'header';
  readonly format: 'eventfold-stream-proof/1';
  readonly streamName: string;
  readonly exportedAt: string;
  /** The stream's revision as the store's stream table records it (-1: no row); the events must reach it. */
  readonly streamRevision: string;
  /** The `$all` chain's head when the proof was made: compare it with a head you recorded. */
  readonly head: { readonly batch: string; readonly hash: string } | null;
}

/** One event as stored: `data` and `metadata` are the stored JSON text, so the hash can be recomputed. */
export interface ProofEvent {
  readonly kind: 'event';
  readonly revision: string;
  readonly id: string;
  readonly type: string;
  readonly data: string;
  readonly metadata: string;
  readonly position: string;
  readonly recordedAt: string;
  readonly hash: string;
  /**
   * On an event moved to an archive earlier: the sequence of the lifecycle record that archived it. Its
   * `data` and `metadata` are then empty and the proof vouches only for its hash and place.
   */
  readonly archivedBy?: string;
}

/**
 * A `$all` batch that holds events of the stream, with every event hash it holds (other streams' content
 * stays out). `batch: 'pending'` (PostgreSQL) is committed but not sealed into the chain yet: no hashes.
 */
export interface ProofBatch {
  readonly kind: 'batch';
  readonly batch: string;
  readonly previousHash: string;
  readonly eventHashes: readonly string[];
  readonly hash: string;
}

/** One line of a proof file (NDJSON): the header, then the events in revision order, then the batches. */
export type ProofLine = ProofHeader | ProofEvent | ProofBatch;

export interface ProofCheck {
  readonly ok: boolean;
  readonly streamName?: string;
  readonly eventsChecked: number;
  readonly batchesChecked: number;
  /** The head recorded in the proof, for comparison with one you hold. */
  readonly head?: ChainHead;
  readonly breaks: readonly ChainBreak[];
}

const PAGE = 1_000;

/**
 * A stream with its proof, as NDJSON lines: every event as stored with its hash, the `$all` batches that
 * hold them, and the chain's head. `checkStreamProof` checks it without the database.
 *
 * @example
 * for await (const line of exportStreamProof(store, 'order-42')) out.write(`${JSON.stringify(line)}\n`);
 */
export async function* exportStreamProof(store: EventStore, streamName: string): AsyncGenerator<ProofLine> {
  if (!isHashChainedStore(store)) throw new StoreNotChainedError(`the ${store.backend} store keeps no hash chain to export`);
  validateStreamName(streamName);
  const snapshot = await store.openChainSnapshot();
  try {
    const head = await snapshot.readChainHead();
    yield {
      kind: 'header',
      format: 'eventfold-stream-proof/1',
      streamName,
      exportedAt: new Date().toISOString(),
      streamRevision: ((await snapshot.readStreamHead(streamName)) ?? -1n).toString(),
      head: head?.hash ? { batch: head.batch.toString(), hash: head.hash.toString('hex') } : null,
    };
    for (let from = 0n; ; ) {
      const page = await snapshot.readStreamEvents(streamName, from, PAGE);
      for (const event of page) {
        yield {
          kind: 'event',
          revision: event.revision.toString(),
          id: event.id,
          type: event.type,
          data: event.data,
          metadata: event.metadata,
          position: event.position.toString(),
          recordedAt: event.recordedAt.toISOString(),
          hash: event.hash?.toString('hex') ?? '',
          ...(event.archivedBy !== undefined ? { archivedBy: event.archivedBy.toString() } : {}),
        };
      }
      if (page.length < PAGE) break;
      from = page[page.length - 1]!.revision + 1n;
    }
    for (let after = 0n; ; ) {
      const page = await snapshot.readBatchesOfStream(streamName, after, PAGE);
      for (const batch of page) {
        const eventHashes = batch.events.map((event) => event.hash?.toString('hex') ?? '');
        if (!batch.hash) {
          // Committed but not sealed into the chain yet: it proves membership, not its place in $all.
          yield { kind: 'batch', batch: 'pending', previousHash: '', eventHashes, hash: '' };
          continue;
        }
        const previous = batch.batch === 1n ? undefined : await snapshot.readBatchHead(batch.batch - 1n);
        yield {
          kind: 'batch',
          batch: batch.batch.toString(),
          previousHash: (previous?.hash ?? GENESIS_HASH).toString('hex'),
          eventHashes,
          hash: batch.hash.toString('hex'),
        };
      }
      const last = page[page.length - 1];
      if (page.length < PAGE || !last?.hash) break;
      after = last.batch;
    }
  } finally {
    await snapshot.close();
  }
}

/**
 * Checks a proof made by `exportStreamProof` (or `eventfold audit export`) with no database: the stream's
 * chain from revision 0, each event's hash, each event's place in a `$all` batch, and each batch's hash.
 * Accepts the NDJSON text or its parsed lines. Linear in the size of the proof.
 *
 * @example
 * const check = checkStreamProof(readFileSync('order-42.proof.ndjson', 'utf8'));
 * if (!check.ok) console.error(check.breaks);
 */
export function checkStreamProof(proof: string | readonly unknown[]): ProofCheck {
  const lines = typeof proof === 'string' ? parseLines(proof) : proof;
  const breaks: ChainBreak[] = [];
  const header = lines[0] as Partial<ProofHeader> | undefined;
  if (header?.kind !== 'header' || header.format !== 'eventfold-stream-proof/1' || typeof header.streamName !== 'string') {
    return { ok: false, eventsChecked: 0, batchesChecked: 0, breaks: [{ kind: 'event-altered', message: 'the file is not an eventfold stream proof (no header line)' }] };
  }
  const streamName = header.streamName;
  let previous = GENESIS_HASH;
  let expectedRevision = 0n;
  const hashes = new Set<string>();
  let eventsChecked = 0;
  let batchesChecked = 0;
  const inBatches = new Set<string>();
  for (let index = 1; index < lines.length; index++) {
    const line = (lines[index] ?? {}) as { kind?: unknown };
    if (line.kind === 'event') {
      const event = line as ProofEvent;
      const revision = parseBigInt(event.revision);
      if (revision !== expectedRevision) {
        breaks.push({ kind: 'event-missing', streamName, revision: expectedRevision, message: `stream "${streamName}": revision ${event.revision} follows revision ${expectedRevision - 1n}; revision ${expectedRevision} is missing` });
      }
      const fields = [event.id, event.type, event.data, event.metadata].every((value) => typeof value === 'string');
      // An archived event's content is in its archive: here its stored hash carries the chain on.
      const recomputed = event.archivedBy !== undefined && isHex(event.hash)
        ? Buffer.from(event.hash, 'hex')
        : fields
        ? eventHash(previous, { streamName, revision: revision ?? -1n, id: event.id, type: event.type, data: event.data, metadata: event.metadata })
        : undefined;
      if (!recomputed || recomputed.toString('hex') !== event.hash) {
        breaks.push({ kind: 'event-altered', streamName, revision: revision ?? expectedRevision, message: `stream "${streamName}" revision ${event.revision} does not match its hash` });
      }
      previous = isHex(event.hash) ? Buffer.from(event.hash, 'hex') : previous;
      hashes.add(event.hash);
      expectedRevision = (revision ?? expectedRevision) + 1n;
      eventsChecked++;
    } else if (line.kind === 'batch') {
      const batch = line as ProofBatch;
      if (batch.batch === 'pending') {
        // A batch not sealed yet carries no hash of its own; it only places the events in a commit.
        if (batch.previousHash !== '' || batch.hash !== '' || !Array.isArray(batch.eventHashes) || !batch.eventHashes.every(isHex)) {
          breaks.push({ kind: 'batch-altered', message: 'a pending batch of the proof carries a hash or malformed event hashes' });
        } else for (const hash of batch.eventHashes) inBatches.add(hash);
        batchesChecked++;
        continue;
      }
      const number = parseBigInt(batch.batch);
      const valid = number !== undefined && isHex(batch.previousHash) && Array.isArray(batch.eventHashes) && batch.eventHashes.every(isHex);
      const recomputed = valid ? batchHash(Buffer.from(batch.previousHash, 'hex'), number, batch.eventHashes.map((hash) => Buffer.from(hash, 'hex'))) : undefined;
      if (!recomputed || recomputed.toString('hex') !== batch.hash) {
        breaks.push({ kind: 'batch-altered', ...(number !== undefined ? { batch: number } : {}), message: `$all batch ${String(batch.batch)} does not match its hash` });
      }
      if (valid) for (const hash of batch.eventHashes) inBatches.add(hash);
      batchesChecked++;
    } else {
      breaks.push({ kind: 'event-altered', streamName, message: `line ${index + 1} of the proof is neither an event nor a batch` });
    }
  }
  const recorded = typeof header.streamRevision === 'string' && /^-?\d+$/.test(header.streamRevision) ? BigInt(header.streamRevision) : undefined;
  if (recorded === undefined || recorded !== expectedRevision - 1n) {
    breaks.push({
      kind: 'event-missing',
      streamName,
      revision: expectedRevision,
      message: `stream "${streamName}" is recorded at revision ${String(header.streamRevision)} but the proof's events end at revision ${expectedRevision - 1n}`,
    });
  }
  for (const hash of hashes) {
    if (!inBatches.has(hash)) {
      breaks.push({ kind: 'event-unchained', streamName, message: `an event of stream "${streamName}" (hash ${hash}) is in no batch of the proof` });
    }
  }
  const head = header.head && parseBigInt(header.head.batch) !== undefined ? { batch: BigInt(header.head.batch), hash: header.head.hash } : undefined;
  return { ok: breaks.length === 0, streamName, eventsChecked, batchesChecked, ...(head ? { head } : {}), breaks };
}

function parseLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new InvalidArgumentError(`line ${index + 1} of the proof is not JSON`);
      }
    });
}

function parseBigInt(text: unknown): bigint | undefined {
  return typeof text === 'string' && /^(0|[1-9]\d{0,18})$/.test(text) ? BigInt(text) : undefined;
}

function isHex(text: unknown): text is string {
  return typeof text === 'string' && /^[0-9a-f]{64}$/.test(text);
}
