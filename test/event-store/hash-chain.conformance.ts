import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { InvalidArgumentError, archiveStreams, checkStreamProof, exportStreamProof, openArchive, verifyStore, type EventData, type EventStore, type ProofLine } from '../../src/event-store';

const event = (type: string, data: EventData['data'], metadata?: EventData['metadata']): EventData => ({
  id: randomUUID(),
  type,
  data,
  ...(metadata ? { metadata } : {}),
});

/**
 * The hash chain on one backend: what every chained store (memory, SQLite, PostgreSQL) must keep. Each
 * test opens its own empty store, so the whole-store checks see only its events.
 */
export function runHashChainSuite(backendName: string, factory: () => Promise<EventStore>): void {
  describe(`${backendName} hash chain`, () => {
    let store: EventStore;
    beforeEach(async () => {
      store = await factory();
    });
    afterEach(async () => {
      await store.close();
    });

    it('verifies an empty store, with no head', async () => {
      const report = await verifyStore(store);
      expect(report).toMatchObject({ ok: true, eventsChecked: 0, batchesChecked: 0, breakCount: 0 });
      expect(report.head).toBeUndefined();
    });

    it('chains single, multi-event and concurrent appends across streams, and every one verifies', async () => {
      await store.appendToStream('order-1', [event('OrderPlaced', { total: 12.5, note: 'ünïcödé ✓' }, { correlationId: 'c-1' })]);
      await store.appendToStream('order-1', [event('OrderPaid', { by: 'card' }), event('OrderShipped', { at: [1, 2, { x: null }] })], {
        expectedRevision: 0n,
      });
      // Appends started in one turn share a group commit on the backends that group them.
      await Promise.all(
        Array.from({ length: 12 }, (_, index) => store.appendToStream(`cart-${index % 4}`, [event('ItemAdded', { index })])),
      );
      const report = await verifyStore(store);
      expect(report.breaks).toEqual([]);
      expect(report).toMatchObject({ ok: true, eventsChecked: 15, streamsChecked: 5 });
      expect(report.batchesChecked).toBeGreaterThanOrEqual(2);
      expect(report.head?.hash).toMatch(/^[0-9a-f]{64}$/);
    });

    it('verifies named streams only when asked', async () => {
      await store.appendToStream('a-1', [event('A', { n: 1 }), event('A', { n: 2 })]);
      await store.appendToStream('b-1', [event('B', { n: 1 })]);
      const report = await verifyStore(store, { streams: ['a-1', 'missing-1'] });
      expect(report).toMatchObject({ ok: true, eventsChecked: 2, streamsChecked: 2, batchesChecked: 0 });
    });

    it('adds nothing to the chain for an idempotent repeat of an append', async () => {
      const events = [event('A', { n: 1 }), event('A', { n: 2 })];
      await store.appendToStream('a-1', events, { expectedRevision: 'no_stream' });
      const before = await verifyStore(store);
      await store.appendToStream('a-1', events, { expectedRevision: 'no_stream' });
      const after = await verifyStore(store);
      expect(after).toMatchObject({ ok: true, eventsChecked: 2 });
      expect(after.head).toEqual(before.head);
    });

    it('keeps an earlier head: a recorded head still verifies after more appends, a wrong one does not', async () => {
      // Two appends: PostgreSQL seals a batch into the chain with the next append.
      await store.appendToStream('a-1', [event('A', { n: 1 })]);
      await store.appendToStream('a-1', [event('A', { n: 1.5 })]);
      const { head } = await verifyStore(store);
      await store.appendToStream('a-1', [event('A', { n: 2 })]);
      expect((await verifyStore(store, { expectHead: head! })).ok).toBe(true);
      const wrong = await verifyStore(store, { expectHead: { batch: head!.batch, hash: '00'.repeat(32) } });
      expect(wrong.ok).toBe(false);
      expect(wrong.breaks.map((found) => found.kind)).toEqual(['head-mismatch']);
      const ahead = await verifyStore(store, { expectHead: { batch: head!.batch + 5n, hash: head!.hash } });
      expect(ahead.breaks[0]?.message).toMatch(/cut back/);
    });

    it('reports progress as it goes', async () => {
      for (let index = 0; index < 5; index++) await store.appendToStream(`p-${index}`, [event('P', { index })]);
      const seen: number[] = [];
      await verifyStore(store, { pageSize: 2, onProgress: (progress) => seen.push(progress.eventsChecked) });
      expect(seen).toEqual([2, 4, 5]);
    });
  
    it('exports a stream with a proof that checks on its own, and fails once any line is changed', async () => {
      await store.appendToStream('order-1', [event('OrderPlaced', { total: 1 })]);
      await store.appendToStream('other-1', [event('Other', {})]);
      await Promise.all([
        store.appendToStream('order-1', [event('OrderPaid', { by: 'card' })], { expectedRevision: 0n }),
        store.appendToStream('other-2', [event('Other', {})]),
      ]);
      const lines: ProofLine[] = [];
      for await (const line of exportStreamProof(store, 'order-1')) lines.push(line);
      expect(lines.map((line) => line.kind)).toEqual(['header', 'event', 'event', 'batch', 'batch']);
      const check = checkStreamProof(lines.map((line) => JSON.stringify(line)).join('\n'));
      expect(check).toMatchObject({ ok: true, streamName: 'order-1', eventsChecked: 2, batchesChecked: 2 });
      expect(check.head?.hash).toBe((await verifyStore(store)).head?.hash);

      const withData = lines.map((line) => (line.kind === 'event' && line.revision === '1' ? { ...line, data: '{"by":"cash"}' } : line));
      expect(checkStreamProof(withData).breaks).toEqual([expect.objectContaining({ kind: 'event-altered', revision: 1n })]);
      const withoutBatch = lines.filter((line, index) => !(line.kind === 'batch' && index === lines.length - 1));
      expect(checkStreamProof(withoutBatch).breaks).toEqual([expect.objectContaining({ kind: 'event-unchained' })]);
      const withBatchHash = lines.map((line) => (line.kind === 'batch' ? { ...line, hash: '0'.repeat(64) } : line));
      expect(checkStreamProof(withBatchHash).breaks.map((found) => found.kind)).toEqual(['batch-altered', 'batch-altered']);
      const withoutLast = lines.filter((line) => !(line.kind === 'event' && line.revision === '1'));
      expect(checkStreamProof(withoutLast).breaks.map((found) => found.kind)).toContain('event-missing');
      expect(checkStreamProof([]).ok).toBe(false);
    });
  
    it('archives the streams whose last event is older than a cut-off, once', async () => {
      await store.appendToStream('old-1', [event('A', {})]);
      await store.appendToStream('old-2', [event('A', {}), event('B', {})]);
      const sink = () => {
        const out = new PassThrough();
        const chunks: Buffer[] = [];
        out.on('data', (chunk: Buffer) => chunks.push(chunk));
        return { out, bytes: () => Buffer.concat(chunks) };
      };
      await expect(archiveStreams(store, { olderThan: new Date(0) }, sink().out, 'none.gz')).rejects.toBeInstanceOf(InvalidArgumentError);
      const cold = sink();
      const result = await archiveStreams(store, { olderThan: new Date(Date.now() + 60_000) }, cold.out, 'cold.gz');
      expect([...result.streams].sort()).toEqual(['old-1', 'old-2']);
      expect(openArchive(cold.bytes())).toMatchObject({ ok: true });
      // Archived streams are not picked again.
      await expect(archiveStreams(store, { olderThan: new Date(Date.now() + 60_000) }, sink().out, 'again.gz')).rejects.toBeInstanceOf(InvalidArgumentError);
      expect((await verifyStore(store)).ok).toBe(true);
    });
  });
}
