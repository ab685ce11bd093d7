import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gunzipSync } from 'node:zlib';
import { checkStreamProof, exportStreamProof, type ProofEvent, type ProofHeader, type ProofLine } from './audit-proof';
import { InvalidArgumentError } from './errors';
import type { EventMetadata, EventStore, EventStoreReader, JsonValue, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './event-store';
import { isHashChainedStore, type HashChainedStore } from './hash-chain';
import { Position } from './position';
import { isStreamLifecycleHost, type StreamLifecycleHost } from './stream-lifecycle';
import { validateStreamName } from './validation';
import { StoreNotChainedError, type ChainBreak } from './verify-store';

/** Which streams to archive: named ones (e.g. closed aggregates), or every stream whose last event is older than a cut-off. */
export type ArchiveSelection = { readonly streams: readonly string[] } | { readonly olderThan: Date };

export interface ArchiveResult {
  readonly streams: readonly string[];
  readonly events: number;
  /** SHA-256 of the compressed file, recorded with each archived stream's lifecycle record. */
  readonly sha256: string;
}

const PAGE = 1_000;

/**
 * Moves streams to cold storage: writes each with its proof (the `audit export` format) to one gzip
 * NDJSON archive, then soft-deletes it with a lifecycle record naming the archive and its SHA-256. Reads
 * no longer see the streams; `openArchive` (and so `loadAt`) reads them back, checking every proof. The
 * rows stay in the database, so `verify` keeps proving the whole log.
 *
 * @example
 * const out = createWriteStream('./archive/2026-q1.ndjson.gz');
 * await archiveStreams(store, { olderThan: new Date('2026-04-01') }, out, 'archive/2026-q1.ndjson.gz');
 */
export async function archiveStreams(store: EventStore, selection: ArchiveSelection, out: Writable, archiveName: string): Promise<ArchiveResult> {
  if (!isHashChainedStore(store) || !isStreamLifecycleHost(store)) throw new StoreNotChainedError(`the ${store.backend} store cannot archive with proofs`);
  if (typeof archiveName !== 'string' || archiveName.length === 0) throw new InvalidArgumentError('archiveName must name the archive');
  const streams = await selectStreams(store, selection);
  const hash = createHash('sha256');
  let events = 0;
  async function* lines(): AsyncGenerator<string> {
    for (const streamName of streams) {
      for await (const line of exportStreamProof(store, streamName)) {
        if (line.kind === 'event') events++;
        yield `${JSON.stringify(line)}\n`;
      }
    }
  }
  const gzip = createGzip();
  gzip.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(Readable.from(lines()), gzip, out);
  const sha256 = hash.digest('hex');
  // Only once the archive is written are the streams hidden: a failed write hides nothing.
  for (const streamName of streams) await store.deleteStream(streamName, { archivedTo: `${archiveName}#sha256=${sha256}` });
  return { streams, events, sha256 };
}

async function selectStreams(store: HashChainedStore & StreamLifecycleHost, selection: ArchiveSelection): Promise<string[]> {
  if ('streams' in selection) {
    const names: unknown = selection.streams;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError('streams must be a non-empty array of stream names');
    for (const name of names as unknown[]) validateStreamName(name);
    return [...new Set(names as string[])];
  }
  if (!(selection.olderThan instanceof Date) || Number.isNaN(selection.olderThan.getTime())) throw new InvalidArgumentError('olderThan must be a valid Date');
  const cutOff = selection.olderThan.getTime();
  const chosen: string[] = [];
  const snapshot = await store.openChainSnapshot();
  try {
    for (let after: string | undefined; ; ) {
      const heads = await snapshot.readStreamHeads(after, PAGE);
      for (const head of heads) {
        // A stream already deleted or archived (and not written since) has nothing left to move.
        const hiddenUpTo = (await store.getStreamMetadata(head.streamName)).truncateBefore ?? 0n;
        if (hiddenUpTo > head.revision) continue;
        const [last] = await snapshot.readStreamEvents(head.streamName, head.revision, 1);
        if (last && last.recordedAt.getTime() < cutOff) chosen.push(head.streamName);
      }
      if (heads.length < PAGE) break;
      after = heads[heads.length - 1]!.streamName;
    }
  } finally {
    await snapshot.close();
  }
  if (chosen.length === 0) throw new InvalidArgumentError(`no stream has all its events before ${selection.olderThan.toISOString()}`);
  return chosen;
}

/** An archive opened for reading: its streams, the check of every proof in it, and the contract's reads. */
export interface Archive extends Pick<EventStoreReader, 'readStream' | 'readAll' | 'readCorrelation'> {
  readonly streams: readonly string[];
  /** SHA-256 of the compressed file: compare it with the one in the streams' lifecycle records. */
  readonly sha256: string;
  readonly ok: boolean;
  readonly breaks: readonly ChainBreak[];
}

/**
 * Reads an archive written by `archiveStreams` (the gzip bytes), checking each stream's proof. Its
 * `readStream` / `readAll` / `readCorrelation` serve the archived events, so `loadAt(archive, …)` folds an
 * archived aggregate as it was.
 *
 * @example
 * const archive = openArchive(readFileSync('./archive/2026-q1.ndjson.gz'));
 * const state = await loadAt(archive, order, 'order-42', { revision: 3n });
 */
export function openArchive(gzipped: Buffer): Archive {
  const sha256 = createHash('sha256').update(gzipped).digest('hex');
  const lines = gunzipSync(gzipped)
    .toString('utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as ProofLine;
      } catch {
        throw new InvalidArgumentError(`line ${index + 1} of the archive is not JSON`);
      }
    });
  const byStream = new Map<string, RecordedEvent[]>();
  const breaks: ChainBreak[] = [];
  let start = 0;
  for (let index = 1; index <= lines.length; index++) {
    if (index < lines.length && lines[index]!.kind !== 'header') continue;
    const proof = lines.slice(start, index);
    const check = checkStreamProof(proof);
    breaks.push(...check.breaks);
    const header = proof[0] as ProofHeader;
    byStream.set(header.streamName, proof.filter((line): line is ProofEvent => line.kind === 'event').map((line) => toRecorded(header.streamName, line)));
    start = index;
  }
  const all = [...byStream.values()].flat().sort((left, right) => left.position.compareTo(right.position));
  const iterate = (events: readonly RecordedEvent[]): AsyncIterable<RecordedEvent> => ({
    // eslint-disable-next-line @typescript-eslint/require-await -- an async iterable over what is in memory
    async *[Symbol.asyncIterator]() {
      yield* events;
    },
  });
  return {
    streams: [...byStream.keys()],
    sha256,
    ok: breaks.length === 0,
    breaks,
    readStream: (streamName: string, options: ReadStreamOptions = {}) => {
      let events = byStream.get(streamName) ?? [];
      if (options.direction === 'backwards') events = [...events].reverse();
      const from = options.fromRevision;
      if (typeof from === 'bigint') events = events.filter((event) => (options.direction === 'backwards' ? event.revision <= from : event.revision >= from));
      return iterate(events.slice(0, options.maxCount ?? events.length));
    },
    readAll: (options: ReadAllOptions = {}) => iterate(options.direction === 'backwards' ? [...all].reverse().slice(0, options.maxCount ?? all.length) : all.slice(0, options.maxCount ?? all.length)),
    readCorrelation: (correlationId: string) => iterate(all.filter((event) => event.metadata.correlationId === correlationId)),
  };
}

function toRecorded(streamName: string, line: ProofEvent): RecordedEvent {
  return {
    id: line.id,
    type: line.type,
    streamName,
    revision: BigInt(line.revision),
    position: Position.parse(line.position),
    data: JSON.parse(line.data) as JsonValue,
    metadata: JSON.parse(line.metadata) as EventMetadata,
    recordedAt: new Date(line.recordedAt),
  };
}
