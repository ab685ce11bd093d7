import { createHash } from 'node:crypto';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gunzipSync } from 'node:zlib';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { checkStreamProof, exportStreamProof, type ProofEvent, type ProofHeader, type ProofLine } from './audit-proof';
import { InvalidArgumentError } from './errors';
import type { EventMetadata, EventStore, EventStoreReader, JsonValue, ReadAllOptions, ReadStreamOptions, RecordedEvent } from './event-store';
import { isHashChainedStore, type ChainSnapshot, type HashChainedStore, type HashedEventFields, type StreamHead } from './hash-chain';
import { Position } from './position';
import { isStreamLifecycleHost, type StreamLifecycleHost, type StreamMetadata } from './stream-lifecycle';
import { validateStreamName } from './validation';
import { StoreNotChainedError, type ChainBreak } from './verify-store';

/**
 * Which streams to archive: named ones (e.g. aggregates in a terminal state), every closed stream (soft
 * deleted and not written since), or every stream whose last event is older than a cut-off.
 */
export type ArchiveSelection = { readonly streams: readonly string[] } | { readonly closed: true } | { readonly olderThan: Date };

export interface ArchiveResult {
  readonly streams: readonly string[];
  readonly events: number;
  /** SHA-256 of the compressed file, recorded with each archived stream's lifecycle record. */
  readonly sha256: string;
  /** The size of the compressed file in bytes. */
  readonly bytes: number;
}

const PAGE = 1_000;

/**
 * Moves streams to cold storage: writes each with its proof (the `audit export` format) to one gzip
 * NDJSON archive, then records the archiving in the lifecycle log naming the archive and its SHA-256, and
 * in the same transaction removes the archived events' payload (data and metadata) from the store. A stub
 * per event stays (its hash, revision, position and the lifecycle record), so `verify` still proves the
 * whole log without the archive, and with it (`verifyStore(store, { archives })`) checks every archived
 * event's content too. Reads no longer see the archived events; `openArchive` (and so `loadAt` and the
 * audit API) reads them back. Events appended while the archive was written stay in the store.
 *
 * Use `archiveStreamsToFile` to have the file synced and checked before anything leaves the store; this
 * form trusts `out` to be durable once it has finished.
 *
 * @example
 * const out = createWriteStream('./archive/2026-q1.ndjson.gz');
 * await archiveStreams(store, { olderThan: new Date('2026-04-01') }, out, 'archive/2026-q1.ndjson.gz');
 */
export async function archiveStreams(store: EventStore, selection: ArchiveSelection, out: Writable, archiveName: string): Promise<ArchiveResult> {
  const archivable = checkArchivable(store, archiveName);
  const streams = await selectStreams(archivable, selection);
  const written = await writeArchive(archivable, streams, out);
  await commitArchive(archivable, written, archiveName);
  return { streams, events: written.events, sha256: written.sha256, bytes: written.bytes };
}

/**
 * `archiveStreams` to a file at `path`: written to `path` + `.partial`, synced, read back and checked
 * (every proof, and every stream up to the revision written), renamed into place and the folder synced;
 * only then are the events' payloads removed from the store (its folder is created if missing). A failure
 * at any step removes nothing. The archive is recorded under its file name (`basename(path)`), so it can
 * be moved to any folder of archives.
 *
 * @example
 * await archiveStreamsToFile(store, { streams: ['order-41', 'order-42'] }, './archive/orders-2026-01.ndjson.gz');
 */
export async function archiveStreamsToFile(store: EventStore, selection: ArchiveSelection, path: string): Promise<ArchiveResult> {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidArgumentError('path must name the archive file');
  const archivable = checkArchivable(store, basename(path));
  const streams = await selectStreams(archivable, selection);
  if (existsSync(path)) throw new InvalidArgumentError(`the archive ${path} exists already: archives are never overwritten`);
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  let renamed = false;
  try {
    const written = await writeArchive(archivable, streams, createWriteStream(partial, { flags: 'wx' }));
    const handle = await open(partial, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    const check = openArchive(await readFile(partial), basename(path));
    const wrong = streams.find((name) => check.lastRevision(name) !== written.through.get(name));
    if (!check.ok || check.sha256 !== written.sha256 || wrong !== undefined) {
      throw new InvalidArgumentError(`the archive written to ${partial} does not read back as written${wrong ? ` (stream "${wrong}")` : ''}; nothing was removed from the store`);
    }
    await rename(partial, path);
    renamed = true;
    const folder = await open(dirname(path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
    await commitArchive(archivable, written, basename(path));
    return { streams, events: written.events, sha256: written.sha256, bytes: written.bytes };
  } finally {
    if (!renamed) await rm(partial, { force: true });
  }
}

type Archivable = EventStore & HashChainedStore & StreamLifecycleHost;

function checkArchivable(store: EventStore, archiveName: string): Archivable {
  if (!isHashChainedStore(store) || !isStreamLifecycleHost(store)) throw new StoreNotChainedError(`the ${store.backend} store cannot archive with proofs`);
  if (typeof archiveName !== 'string' || archiveName.length === 0 || archiveName.includes('#')) throw new InvalidArgumentError('archiveName must name the archive (without "#")');
  return store;
}

interface WrittenArchive {
  readonly streams: readonly string[];
  readonly events: number;
  readonly sha256: string;
  readonly bytes: number;
  /** Each stream's last revision in the archive. */
  readonly through: ReadonlyMap<string, bigint>;
}

async function writeArchive(store: Archivable, streams: readonly string[], out: Writable): Promise<WrittenArchive> {
  const hash = createHash('sha256');
  const through = new Map<string, bigint>();
  let events = 0;
  let bytes = 0;
  async function* lines(): AsyncGenerator<string> {
    for (const streamName of streams) {
      for await (const line of exportStreamProof(store, streamName)) {
        if (line.kind === 'event') {
          events++;
          through.set(streamName, BigInt(line.revision));
        }
        yield `${JSON.stringify(line)}\n`;
      }
    }
  }
  const gzip = createGzip();
  gzip.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  await pipeline(Readable.from(lines()), gzip, out);
  return { streams, events, sha256: hash.digest('hex'), bytes, through };
}

async function commitArchive(store: Archivable, written: WrittenArchive, archiveName: string): Promise<void> {
  // Only once the archive is written are the payloads removed: a failed write removes nothing.
  for (const streamName of written.streams) {
    const archivedThrough = written.through.get(streamName);
    if (archivedThrough === undefined) continue;
    await store.deleteStream(streamName, { archivedTo: `${archiveName}#sha256=${written.sha256}`, archivedThrough });
  }
}

async function selectStreams(store: Archivable, selection: ArchiveSelection): Promise<string[]> {
  if (selection === null || typeof selection !== 'object') throw new InvalidArgumentError('selection must give streams or olderThan');
  if ('streams' in selection) {
    const names: unknown = selection.streams;
    if (!Array.isArray(names) || names.length === 0) throw new InvalidArgumentError('streams must be a non-empty array of stream names');
    for (const name of names as unknown[]) validateStreamName(name);
    const unique = [...new Set(names as string[])];
    const snapshot = await store.openChainSnapshot();
    try {
      for (const name of unique) {
        const head = await snapshot.readStreamHead(name);
        if (head === undefined) throw new InvalidArgumentError(`stream "${name}" does not exist, so it cannot be archived`);
        if (((await store.getStreamMetadata(name)).archivedBefore ?? 0n) > head) throw new InvalidArgumentError(`stream "${name}" is archived already`);
      }
    } finally {
      await snapshot.close();
    }
    return unique;
  }
  let wanted: (head: StreamHead, metadata: StreamMetadata) => Promise<boolean>;
  let none: string;
  if ('closed' in selection) {
    if (selection.closed !== true) throw new InvalidArgumentError('closed must be true');
    wanted = (head, metadata) => Promise.resolve(metadata.deletedAt !== undefined && (metadata.truncateBefore ?? 0n) > head.revision);
    none = 'no stream is closed (soft deleted and not written since)';
  } else if ('olderThan' in selection) {
    const olderThan: unknown = selection.olderThan;
    if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new InvalidArgumentError('olderThan must be a valid Date');
    const cutOff = olderThan.getTime();
    wanted = async (head) => {
      const [last] = await snapshot.readStreamEvents(head.streamName, head.revision, 1);
      return last !== undefined && last.recordedAt.getTime() < cutOff;
    };
    none = `no stream has all its events before ${olderThan.toISOString()}`;
  } else {
    throw new InvalidArgumentError('selection must give streams, closed or olderThan');
  }
  const chosen: string[] = [];
  const snapshot: ChainSnapshot = await store.openChainSnapshot();
  try {
    for (let after: string | undefined; ; ) {
      const heads = await snapshot.readStreamHeads(after, PAGE);
      for (const head of heads) {
        const metadata = await store.getStreamMetadata(head.streamName);
        // A stream already archived (and not written since) has nothing left to move.
        if ((metadata.archivedBefore ?? 0n) > head.revision) continue;
        if (await wanted(head, metadata)) chosen.push(head.streamName);
      }
      if (heads.length < PAGE) break;
      after = heads[heads.length - 1]!.streamName;
    }
  } finally {
    await snapshot.close();
  }
  if (chosen.length === 0) throw new InvalidArgumentError(none);
  return chosen;
}

/** An archive opened for reading: its streams, the check of every proof in it, and the contract's reads. */
export interface Archive extends Pick<EventStoreReader, 'readStream' | 'readAll' | 'readCorrelation'> {
  /** The name it was opened under (its file name), when given. */
  readonly name?: string;
  readonly streams: readonly string[];
  /** One archived event exactly as it was stored (text for text), to check against its stub's hash. */
  storedEvent(streamName: string, revision: bigint): HashedEventFields | undefined;
  /** One archived event as reads give it. */
  readEvent(streamName: string, revision: bigint): RecordedEvent | undefined;
  /** The last revision of a stream the archive holds (undefined: none). */
  lastRevision(streamName: string): bigint | undefined;
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
export function openArchive(gzipped: Buffer, name?: string): Archive {
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
  const stored = new Map<string, HashedEventFields>();
  const recorded = new Map<string, RecordedEvent>();
  const breaks: ChainBreak[] = [];
  let start = 0;
  for (let index = 1; index <= lines.length; index++) {
    if (index < lines.length && lines[index]!.kind !== 'header') continue;
    const proof = lines.slice(start, index);
    const check = checkStreamProof(proof);
    breaks.push(...check.breaks);
    const header = proof[0] as ProofHeader;
    // Stubs of events archived before (a stream archived again) carry no content: their archive has it.
    const held = proof.filter((line): line is ProofEvent => line.kind === 'event' && line.archivedBy === undefined);
    const events = held.map((line) => toRecorded(header.streamName, line));
    byStream.set(header.streamName, events);
    for (const event of events) recorded.set(`${event.revision}:${header.streamName}`, event);
    for (const line of held) {
      stored.set(`${line.revision}:${header.streamName}`, { streamName: header.streamName, revision: BigInt(line.revision), id: line.id, type: line.type, data: line.data, metadata: line.metadata });
    }
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
    ...(name !== undefined ? { name } : {}),
    streams: [...byStream.keys()],
    storedEvent: (streamName, revision) => stored.get(`${revision}:${streamName}`),
    readEvent: (streamName, revision) => recorded.get(`${revision}:${streamName}`),
    lastRevision: (streamName) => byStream.get(streamName)?.at(-1)?.revision,
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
