import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openArchive, type Archive } from './archive';
import { parseArchivedTo } from './archive-name';
import { ArchiveUnavailableError, InvalidArgumentError } from './errors';
import type { EventStore, EventStoreReader, ReadStreamOptions, RecordedEvent } from './event-store';
import { GENESIS_HASH, eventHash, isHashChainedStore, type ChainSnapshot } from './hash-chain';
import { isStreamLifecycleHost, parseStreamMetadata } from './stream-lifecycle';

/**
 * Where archives are kept, looked up by the name and SHA-256 an archiving's lifecycle record gives.
 *
 * @example
 * const shelf: ArchiveShelf = archiveFolder('./archive');
 */
export interface ArchiveShelf {
  /** The archive recorded as `name` with `sha256`; undefined when it is not kept here. */
  open(name: string, sha256: string): Promise<Archive | undefined>;
}

/** How many opened archives a folder keeps in memory (each is read whole). */
const OPEN_ARCHIVES = 8;

/**
 * The archives in one folder (as `eventfold archive --out` writes them). A file whose SHA-256 is not
 * the recorded one is refused with `ArchiveUnavailableError`. Keeps the last few opened in memory.
 *
 * @example
 * const api = createApi({ ..., archives: archiveFolder('./data/archive') });
 */
export function archiveFolder(folder: string): ArchiveShelf {
  if (typeof folder !== 'string' || folder.length === 0) throw new InvalidArgumentError('folder must name the folder of archives');
  const opened = new Map<string, Archive>();
  return {
    async open(name, sha256) {
      const cached = opened.get(sha256);
      if (cached) return cached;
      // A record names a file, never a path: nothing outside the folder is ever read.
      if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith('.')) return undefined;
      let bytes: Buffer;
      try {
        bytes = await readFile(join(folder, name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ArchiveUnavailableError(name, `cannot read the archive ${name}: ${(error as Error).message}`);
      }
      // Checked before the file is unzipped: a changed file is refused without inflating it.
      const actual = createHash('sha256').update(bytes).digest('hex');
      if (actual !== sha256) throw new ArchiveUnavailableError(name, `the archive ${name} has SHA-256 ${actual}, not the recorded ${sha256}: it was changed`);
      let archive: Archive;
      try {
        archive = openArchive(bytes, name);
      } catch (error) {
        throw new ArchiveUnavailableError(name, `the archive ${name} cannot be read: ${(error as Error).message}`);
      }
      if (opened.size >= OPEN_ARCHIVES) opened.delete(opened.keys().next().value!);
      opened.set(sha256, archive);
      return archive;
    },
  };
}

/** A store that reveals sealed personal data in events read elsewhere, as its own reads do (the personal-data store). */
interface EventRevealer {
  revealEvents(events: AsyncIterable<RecordedEvent>): AsyncIterable<RecordedEvent>;
}

function isEventRevealer(store: unknown): store is EventRevealer {
  return typeof (store as Partial<EventRevealer>).revealEvents === 'function';
}

const PAGE = 1_000;

/**
 * The store's reads, where reads that include hidden events (audits, `loadAt`) also give archived events
 * back from `shelf`, each checked against the hash its stub kept, and revealed like the store's own
 * (personal data decrypted, or redacted once forgotten). Other reads are the store's.
 *
 * @example
 * const state = await loadAt(withArchives(store, archiveFolder('./archive')), order, 'order-42', { revision: 3n });
 */
export function withArchives(store: EventStore, shelf: ArchiveShelf): EventStoreReader {
  return {
    readStream: (streamName, options = {}) => (options.includeHidden ? readWithArchives(store, shelf, streamName, options) : store.readStream(streamName, options)),
    readAll: (options) => store.readAll(options),
    readCorrelation: (correlationId) => store.readCorrelation(correlationId),
  };
}

function readWithArchives(store: EventStore, shelf: ArchiveShelf, streamName: string, options: ReadStreamOptions): AsyncIterable<RecordedEvent> {
  if (options.direction === 'backwards') throw new InvalidArgumentError('reads that include archived events go forwards');
  const from = options.fromRevision ?? 'start';
  if (from === 'end') return store.readStream(streamName, options);
  const first = from === 'start' ? 0n : from;
  const maxCount = options.maxCount ?? Number.POSITIVE_INFINITY;
  const live = (fromRevision: bigint, limit: number) =>
    store.readStream(streamName, { ...options, fromRevision, ...(Number.isFinite(limit) ? { maxCount: limit } : {}) });
  const archived = (before: bigint) => archivedEvents(store, shelf, streamName, first, before, maxCount);
  return {
    async *[Symbol.asyncIterator]() {
      const before = isStreamLifecycleHost(store) && isHashChainedStore(store) ? ((await store.getStreamMetadata(streamName)).archivedBefore ?? 0n) : 0n;
      let given = 0;
      if (first < before && maxCount > 0) {
        const events = isEventRevealer(store) ? store.revealEvents(archived(before)) : archived(before);
        for await (const event of events) {
          given++;
          yield event;
        }
      }
      if (given >= maxCount) return;
      yield* live(first > before ? first : before, maxCount - given);
    },
  };
}

/** Revisions `from`..`before - 1` from their archives, each checked against its stub's hash. */
async function* archivedEvents(store: EventStore, shelf: ArchiveShelf, streamName: string, from: bigint, before: bigint, maxCount: number): AsyncGenerator<RecordedEvent> {
  if (!isHashChainedStore(store)) return;
  const snapshot: ChainSnapshot = await store.openChainSnapshot();
  const archives = new Map<bigint, { name: string; archive: Archive }>();
  try {
    let previous = from === 0n ? GENESIS_HASH : ((await snapshot.readStreamEvents(streamName, from - 1n, 1))[0]?.hash ?? GENESIS_HASH);
    let given = 0;
    for (let next = from; next < before && given < maxCount; ) {
      const page = await snapshot.readStreamEvents(streamName, next, Math.min(PAGE, Number(before - next)));
      if (page.length === 0) return;
      for (const stub of page) {
        if (stub.revision >= before || given >= maxCount) return;
        const where = `stream "${streamName}" revision ${stub.revision}`;
        if (stub.archivedBy === undefined) throw new ArchiveUnavailableError('', `${where} is recorded as archived but its row is not an archive's stub: run verify`);
        const { name, archive } = await archiveOf(snapshot, shelf, archives, stub.archivedBy, where);
        const content = archive.storedEvent(streamName, stub.revision);
        const event = archive.readEvent(streamName, stub.revision);
        if (!content || !event) throw new ArchiveUnavailableError(name, `${where} is not in its archive ${name}`);
        if (!stub.hash || !eventHash(previous, content).equals(stub.hash)) {
          throw new ArchiveUnavailableError(name, `${where} in archive ${name} does not match the hash the store kept for it: the archive was changed`);
        }
        previous = stub.hash;
        given++;
        yield event;
      }
      next = page[page.length - 1]!.revision + 1n;
    }
  } finally {
    await snapshot.close();
  }
}

async function archiveOf(
  snapshot: ChainSnapshot,
  shelf: ArchiveShelf,
  archives: Map<bigint, { name: string; archive: Archive }>,
  sequence: bigint,
  where: string,
): Promise<{ name: string; archive: Archive }> {
  const known = archives.get(sequence);
  if (known) return known;
  const [record] = await snapshot.readLifecycle(sequence - 1n, 1);
  const named = record && record.sequence === sequence && record.action === 'archive' ? parseArchivedTo(parseStreamMetadata(record.metadata).archivedTo ?? '') : undefined;
  if (!named) throw new ArchiveUnavailableError('', `${where} names lifecycle record ${sequence}, which archived nothing: run verify`);
  const archive = await shelf.open(named.name, named.sha256);
  if (!archive) throw new ArchiveUnavailableError(named.name, `${where} is archived in ${named.name}, which is not among the archives kept`);
  const found = { name: named.name, archive };
  archives.set(sequence, found);
  return found;
}
