import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  DuplicateEventIdError,
  InvalidArgumentError,
  StoreNotChainedError,
  archiveStreams,
  openArchive,
  InvalidStreamNameError,
  checkStreamProof,
  exportStreamProof,
  isStreamLifecycleHost,
  readStreamForFold,
  verifyStore,
  type EventData,
  type EventStore,
  type ProofLine,
  type RecordedEvent,
} from '../../src/event-store';
import { isHashChainedStore } from '../../src/event-store/hash-chain';
import { SubscriptionReader } from './subscription-helpers';

const events = (count: number, from = 0): EventData[] =>
  Array.from({ length: count }, (_, index) => ({ id: randomUUID(), type: 'Happened', data: { index: from + index } }));

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const indexes = (read: readonly RecordedEvent[]) => read.map((event) => (event.data as { index: number }).index);

/**
 * Stream lifecycle on one backend, inside its conformance suite: soft deletes and stream metadata
 * (`maxCount`, `maxAge`, `truncateBefore`) honoured by reads, seen by audits, recorded and verified.
 */
export function runStreamLifecycleTests(getStore: () => EventStore, stream: (name: string) => string): void {
  describe('stream lifecycle', () => {
    const lifecycle = () => {
      const store = getStore();
      if (!isStreamLifecycleHost(store)) throw new Error(`the ${store.backend} store keeps no stream lifecycle`);
      return store;
    };

    it('soft delete: reads see no stream, audits and verify still do, and an append brings it back', async () => {
      const store = getStore();
      const name = stream('deleted');
      await store.appendToStream(name, events(3));
      await lifecycle().deleteStream(name);
      expect(await collect(store.readStream(name))).toEqual([]);
      expect(await collect(store.readStream(name, { direction: 'backwards' }))).toEqual([]);
      expect(await collect(readStreamForFold(store, name))).toEqual([]);
      expect((await lifecycle().getStreamMetadata(name)).truncateBefore).toBe(3n);
      // The audit side is the hash chain's (EventStoreDB hides deleted events on the server).
      if (isHashChainedStore(store)) {
        expect(indexes(await collect(store.readStream(name, { includeHidden: true })))).toEqual([0, 1, 2]);
        const lines: ProofLine[] = [];
        for await (const line of exportStreamProof(store, name)) lines.push(line);
        expect(checkStreamProof(lines)).toMatchObject({ ok: true, eventsChecked: 3 });
        expect((await verifyStore(store)).ok).toBe(true);
      }

      // As in EventStoreDB, the stream carries on from its revision; only the new events show.
      await store.appendToStream(name, events(1, 3), { expectedRevision: 2n });
      const revived = await collect(store.readStream(name));
      expect(revived.map((event) => event.revision)).toEqual([3n]);
      const folded = await collect(readStreamForFold(store, name));
      expect(folded.map((page) => [page.fromRevision, page.events.length])).toEqual([[3n, 1]]);
    });

    it('maxCount: reads show only the last events, forwards and backwards, and maxCount of a read counts what is shown', async () => {
      const store = getStore();
      const name = stream('capped');
      await store.appendToStream(name, events(6));
      await lifecycle().setStreamMetadata(name, { maxCount: 2 });
      expect(indexes(await collect(store.readStream(name)))).toEqual([4, 5]);
      expect(indexes(await collect(store.readStream(name, { direction: 'backwards' })))).toEqual([5, 4]);
      expect(indexes(await collect(store.readStream(name, { maxCount: 1 })))).toEqual([4]);
      await store.appendToStream(name, events(1, 6));
      expect(indexes(await collect(store.readStream(name)))).toEqual([5, 6]);
      expect(await lifecycle().getStreamMetadata(name)).toEqual({ maxCount: 2 });
    });

    it('truncateBefore and maxAge: reads leave out what they hide; folds too', async () => {
      const store = getStore();
      const name = stream('truncated');
      await store.appendToStream(name, events(5));
      await lifecycle().setStreamMetadata(name, { truncateBefore: 3n });
      expect(indexes(await collect(store.readStream(name)))).toEqual([3, 4]);
      const pages = await collect(readStreamForFold(store, name));
      expect(pages.map((page) => page.fromRevision)).toEqual([3n]);

      const aged = stream('aged');
      await store.appendToStream(aged, events(2));
      await lifecycle().setStreamMetadata(aged, { maxAge: 3_600 });
      expect(indexes(await collect(store.readStream(aged)))).toEqual([0, 1]);
      // Replaced wholesale, as in EventStoreDB: the earlier truncateBefore no longer applies.
      await lifecycle().setStreamMetadata(name, { maxCount: 4 });
      expect(indexes(await collect(store.readStream(name)))).toEqual([1, 2, 3, 4]);
    });

    it('records every lifecycle action, and verify checks the record', async () => {
      const store = getStore();
      const name = stream('recorded');
      await store.appendToStream(name, events(2));
      await lifecycle().setStreamMetadata(name, { maxCount: 1 });
      expect(await lifecycle().getStreamMetadata(name)).toEqual({ maxCount: 1 });
      await lifecycle().deleteStream(name);
      expect((await lifecycle().getStreamMetadata(name)).truncateBefore).toBe(2n);
      // EventStoreDB records both in the stream's own metadata stream; the others in a chained log.
      if (isHashChainedStore(store)) {
        const report = await verifyStore(store);
        expect(report.breaks).toEqual([]);
        const snapshot = await store.openChainSnapshot();
        const records = await snapshot.readLifecycle(0n, 10_000);
        await snapshot.close();
        expect(records.filter((record) => record.streamName === name).map((record) => record.action)).toEqual(['metadata', 'delete']);
      }
    });

    it('archiving: streams move to a compressed NDJSON archive with their proofs, reads no longer see them, the archive reads them back', async () => {
      const store = getStore();
      const [first, second] = [stream('archived-a'), stream('archived-b')];
      await store.appendToStream(first, events(3));
      await store.appendToStream(second, [{ id: randomUUID(), type: 'Happened', data: { index: 0 }, metadata: { correlationId: `${first}-c` } }]);
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (chunk: Buffer) => chunks.push(chunk));
      if (!isHashChainedStore(store)) {
        await expect(archiveStreams(store, { streams: [first] }, sink, 'cold.ndjson.gz')).rejects.toBeInstanceOf(StoreNotChainedError);
        return;
      }
      const result = await archiveStreams(store, { streams: [first, second] }, sink, 'cold.ndjson.gz');
      expect(result).toMatchObject({ streams: [first, second], events: 4, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(await collect(store.readStream(first))).toEqual([]);
      expect(await collect(store.readStream(second))).toEqual([]);
      expect((await lifecycle().getStreamMetadata(first)).archivedTo).toBe(`cold.ndjson.gz#sha256=${result.sha256}`);

      const bytes = Buffer.concat(chunks);
      const archive = openArchive(bytes);
      expect(archive).toMatchObject({ ok: true, sha256: result.sha256, streams: [first, second] });
      expect(indexes(await collect(archive.readStream(first)))).toEqual([0, 1, 2]);
      expect(indexes(await collect(archive.readStream(first, { direction: 'backwards', maxCount: 1 })))).toEqual([2]);
      expect((await collect(archive.readCorrelation(`${first}-c`))).map((event) => event.streamName)).toEqual([second]);
      expect((await collect(archive.readAll())).length).toBe(4);
      expect((await verifyStore(store, { streams: [first, second] })).breaks).toEqual([]);

      // An archive edited afterwards no longer checks, and its SHA-256 no longer matches the record.
      const edited = gzipSync(gunzipSync(bytes).toString('utf8').replace('{\\"index\\":1}', '{\\"index\\":9}'));
      const tampered = openArchive(edited);
      expect(tampered.ok).toBe(false);
      expect(tampered.breaks[0]).toMatchObject({ kind: 'event-altered', streamName: first, revision: 1n });
      expect(tampered.sha256).not.toBe(result.sha256);
    });

    it('archiving moves the payload out: stubs keep the chains whole, every read skips them, verify checks them against the archive', async () => {
      const store = getStore();
      if (!isHashChainedStore(store)) return; // EventStoreDB refuses archiving (the test above).
      const [gone, kept] = [stream('moved'), stream('stays')];
      const firstAppend = events(3);
      await store.appendToStream(gone, firstAppend);
      await store.appendToStream(kept, events(1));
      await store.appendToStream(gone, [{ id: randomUUID(), type: 'Happened', data: { index: 3 }, metadata: { correlationId: `${gone}-c` } }]);
      await store.appendToStream(kept, events(1, 1));
      const sink = new PassThrough();
      const chunks: Buffer[] = [];
      sink.on('data', (chunk: Buffer) => chunks.push(chunk));
      const result = await archiveStreams(store, { streams: [gone] }, sink, 'moved.ndjson.gz');
      const archive = openArchive(Buffer.concat(chunks), 'moved.ndjson.gz');

      // Nothing of the archived events is readable any more, by any read; $all keeps its order around them.
      expect(await collect(store.readStream(gone, { includeHidden: true }))).toEqual([]);
      expect(await collect(store.readStream(gone, { direction: 'backwards', includeHidden: true }))).toEqual([]);
      expect(await collect(store.readCorrelation(`${gone}-c`))).toEqual([]);
      const all = await collect(store.readAll({ filter: { streamPrefixes: [gone, kept] } }));
      expect(all.map((event) => [event.streamName, event.revision])).toEqual([[kept, 0n], [kept, 1n]]);
      expect(all[0]!.position.compareTo(all[1]!.position)).toBeLessThan(0);
      const backwards = await collect(store.readAll({ direction: 'backwards', filter: { streamPrefixes: [gone, kept] } }));
      expect(backwards.map((event) => event.revision)).toEqual([1n, 0n]);
      const subscription = new SubscriptionReader(store.subscribeToAll({ filter: { streamPrefixes: [gone, kept] } }));
      await subscription.untilCaughtUp();
      await subscription.subscription.close();
      expect(subscription.events.map((event) => event.streamName)).toEqual([kept, kept]);
      // A retry of an archived append is never written twice: its ids stay taken by the stubs.
      await expect(store.appendToStream(gone, firstAppend, { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(DuplicateEventIdError);
      const fromStream = new SubscriptionReader(store.subscribeToStream(gone));
      await store.appendToStream(gone, events(1, 4), { expectedRevision: 3n });
      await fromStream.untilCount(1);
      await fromStream.subscription.close();
      expect(fromStream.events.map((event) => event.revision)).toEqual([4n]);

      // The revived stream: reads and folds show only what was appended since; replaced metadata keeps the archiving.
      expect(indexes(await collect(store.readStream(gone)))).toEqual([4]);
      expect((await collect(readStreamForFold(store, gone))).map((page) => page.fromRevision)).toEqual([4n]);
      await lifecycle().setStreamMetadata(gone, { maxCount: 10 });
      expect(await lifecycle().getStreamMetadata(gone)).toMatchObject({ maxCount: 10, archivedBefore: 4n, archivedTo: `moved.ndjson.gz#sha256=${result.sha256}` });
      expect(indexes(await collect(store.readStream(gone)))).toEqual([4]);
      expect((await collect(readStreamForFold(store, gone))).map((page) => page.fromRevision)).toEqual([4n]);

      // Without the archive the stubs still verify (chains and records); with it, every archived event's content too.
      const plain = await verifyStore(store, { streams: [gone, kept] });
      expect(plain).toMatchObject({ ok: true, eventsChecked: 7, eventsArchived: 4, archivedChecked: 0 });
      const full = await verifyStore(store, { streams: [gone], archives: [archive] });
      expect(full).toMatchObject({ ok: true, eventsArchived: 4, archivedChecked: 4 });
      const missing = await verifyStore(store, { streams: [gone], archives: [] });
      expect(missing.breaks).toEqual([expect.objectContaining({ kind: 'archive-missing', streamName: gone, revision: 0n })]);
      expect(missing.breaks[0]!.message).toContain('moved.ndjson.gz');
      // An archive edited afterwards (same name) is named, and so is the event whose content changed.
      const edited = openArchive(gzipSync(gunzipSync(Buffer.concat(chunks)).toString('utf8').replace('{\\"index\\":2}', '{\\"index\\":7}')), 'moved.ndjson.gz');
      const altered = await verifyStore(store, { streams: [gone], archives: [edited] });
      expect(altered.breaks.map((found) => [found.kind, found.revision])).toEqual([['archive-altered', undefined], ['archive-altered', 2n]]);
      expect(altered.breaks[0]!.message).toContain(result.sha256);

      // Archived again: the new archive holds the new event and the stubs of the old ones; both together verify.
      const again = new PassThrough();
      const secondChunks: Buffer[] = [];
      again.on('data', (chunk: Buffer) => secondChunks.push(chunk));
      const second = await archiveStreams(store, { streams: [gone] }, again, 'moved-2.ndjson.gz');
      expect(second.events).toBe(5);
      const secondArchive = openArchive(Buffer.concat(secondChunks), 'moved-2.ndjson.gz');
      expect(secondArchive.ok).toBe(true);
      expect(indexes(await collect(secondArchive.readStream(gone)))).toEqual([4]);
      expect(await verifyStore(store, { streams: [gone], archives: [archive, secondArchive] })).toMatchObject({ ok: true, eventsArchived: 5, archivedChecked: 5 });
      await expect(archiveStreams(store, { streams: [gone] }, new PassThrough(), 'x.ndjson.gz')).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await verifyStore(store)).breaks).toEqual([]);
    });

    it('refuses bad input with typed errors and records nothing', async () => {
      const name = stream('bad');
      await expect(lifecycle().deleteStream(name)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(lifecycle().setStreamMetadata(name, { maxCount: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(lifecycle().setStreamMetadata(name, { maxAge: 1.5 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(lifecycle().setStreamMetadata(name, { truncateBefore: -1n })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(lifecycle().setStreamMetadata(name, { maxCount: 1, colour: 'red' } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(lifecycle().setStreamMetadata('$system', { maxCount: 1 })).rejects.toBeInstanceOf(InvalidStreamNameError);
      expect(await lifecycle().getStreamMetadata(name)).toEqual({});
    });
  });
}
