import { randomUUID } from 'node:crypto';
import type { RecordedEvent } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import { InvalidReactorError, type Invocation, type ParkedEventRecord, type ReactorStateStore } from '../../src/handlers';

function event(streamName: string, sequence: number): RecordedEvent {
  return {
    id: randomUUID(),
    type: 'Step',
    streamName,
    revision: BigInt(sequence),
    position: Position.of(BigInt(sequence), BigInt(sequence)),
    data: { sequence, nested: { list: [1, 'two'] } },
    metadata: { correlationId: 'c-1' },
    recordedAt: new Date('2026-03-01T10:00:00.000Z'),
  };
}

function parked(reactor: string, recorded: RecordedEvent, partition: number, status: 'parked' | 'waiting' = 'parked'): ParkedEventRecord {
  return {
    reactor,
    event: recorded,
    partition,
    status,
    attempts: status === 'parked' ? 3 : 0,
    error: { name: 'Error', code: 'E_TEST', message: `failed ${recorded.streamName}` },
    parkedAt: new Date('2026-03-01T10:00:01.000Z'),
  };
}

/**
 * The one contract every reactor state store keeps. `create` gives a fresh, empty store each time; the
 * suite uses unique reactor and group names so stores may share a database.
 */
export function reactorStateStoreConformance(name: string, create: () => Promise<ReactorStateStore>): void {
  describe(`reactor state store conformance: ${name}`, () => {
    let store: ReactorStateStore;
    let reactor: string;
    let group: string;
    beforeEach(async () => {
      store = await create();
      reactor = `r-${randomUUID().slice(0, 8)}`;
      group = `g-${randomUUID().slice(0, 8)}`;
    });
    afterEach(() => store.close());

    it('keeps checkpoints per partition, only ever moving them forwards', async () => {
      expect(await store.loadCheckpoints(reactor)).toEqual(new Map());
      const lost = await store.saveCheckpoints(reactor, new Map([[0, Position.of(5n, 5n)], [3, Position.of(9n, 2n)]]), undefined);
      expect(lost).toEqual([]);
      await store.saveCheckpoints(reactor, new Map([[0, Position.of(4n, 4n)]]), undefined);
      await store.saveCheckpoints(reactor, new Map([[3, Position.of(10n, 1n)]]), undefined);
      const loaded = await store.loadCheckpoints(reactor);
      expect([...loaded.entries()].map(([partition, position]) => [partition, position.toString()]).sort()).toEqual([
        [0, Position.of(5n, 5n).toString()],
        [3, Position.of(10n, 1n).toString()],
      ]);
    });

    it('splits partitions fairly, fences checkpoints by lease, and lets a live worker take expired leases', async () => {
      await store.preparePartitions(group, 4);
      await store.preparePartitions(group, 4);
      await expect(store.preparePartitions(group, 5)).rejects.toBeInstanceOf(InvalidReactorError);
      const alone = await store.claimLeases(group, 'w1', 60_000, (live) => Math.ceil(4 / live));
      expect(alone).toEqual({ held: [0, 1, 2, 3], liveWorkers: 1 });
      const second = await store.claimLeases(group, 'w2', 60_000, (live) => Math.ceil(4 / live));
      expect(second).toEqual({ held: [], liveWorkers: 2 });
      await store.releaseLeases(group, 'w1', [2, 3]);
      expect((await store.claimLeases(group, 'w2', 60_000, (live) => Math.ceil(4 / live))).held).toEqual([2, 3]);
      expect((await store.claimLeases(group, 'w1', 60_000, (live) => Math.ceil(4 / live))).held).toEqual([0, 1]);
      const leases = await store.listLeases(group);
      expect(leases.map((lease) => [lease.partition, lease.owner])).toEqual([
        [0, 'w1'],
        [1, 'w1'],
        [2, 'w2'],
        [3, 'w2'],
      ]);
      const lost = await store.saveCheckpoints(reactor, new Map([[0, Position.of(1n, 1n)], [2, Position.of(1n, 1n)]]), { group, workerId: 'w1' });
      expect(lost).toEqual([2]);
      expect([...(await store.loadCheckpoints(reactor)).keys()]).toEqual([0]);

      // w2 stops renewing with a short lease; once it has expired, w1 takes its partitions.
      await store.claimLeases(group, 'w2', 300, () => 2);
      const deadline = Date.now() + 5_000;
      let taken: readonly number[] = [];
      while (Date.now() < deadline) {
        taken = (await store.claimLeases(group, 'w1', 60_000, (live) => Math.ceil(4 / live))).held;
        if (taken.length === 4) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(taken).toEqual([0, 1, 2, 3]);
      expect(await store.saveCheckpoints(reactor, new Map([[2, Position.of(2n, 2n)]]), { group, workerId: 'w2' })).toEqual([2]);
      await store.leaveGroup(group, 'w1');
      expect((await store.listLeases(group)).every((lease) => lease.owner === undefined)).toBe(true);
    });

    it('parks events once, lists them oldest first with paging and filters, and counts them', async () => {
      const a0 = event('order-a', 1);
      const a1 = event('order-a', 2);
      const b0 = event('order-b', 3);
      await store.park([parked(reactor, a0, 1), parked(reactor, a1, 1, 'waiting'), parked(reactor, b0, 2)]);
      await store.park([{ ...parked(reactor, a0, 1), attempts: 99 }]);
      await store.park([parked(`${reactor}-other`, a0, 1)]);
      const page1 = await store.listParked({ reactor, limit: 2 });
      expect(page1.items.map((item) => [item.streamName, item.status, item.attempts])).toEqual([
        ['order-a', 'parked', 3],
        ['order-a', 'waiting', 0],
      ]);
      const page2 = await store.listParked({ reactor, limit: 2, after: page1.next });
      expect(page2.items.map((item) => item.eventId)).toEqual([b0.id]);
      expect(page2.next).toBeUndefined();
      const item = page1.items[0]!;
      expect(item.event).toEqual(a0);
      expect(item).toMatchObject({ reactor, eventId: a0.id, eventType: 'Step', position: a0.position.toString(), reason: 'failed order-a', partition: 1 });
      expect(item.error).toEqual({ name: 'Error', code: 'E_TEST', message: 'failed order-a' });
      expect(item.parkedAt.toISOString()).toBe('2026-03-01T10:00:01.000Z');
      expect((await store.listParked({ streamName: 'order-a' })).items).toHaveLength(3);
      expect((await store.parkedInStream(reactor, 'order-a')).map((row) => row.eventId)).toEqual([a0.id, a1.id]);
      expect((await store.blockedStreams(reactor, [1])).sort()).toEqual(['order-a']);
      expect((await store.blockedStreams(reactor, [1, 2])).sort()).toEqual(['order-a', 'order-b']);
      expect(await store.countParked(reactor)).toEqual({ parked: 2, waiting: 1 });
      await expect(store.listParked({ after: 'garbage' })).rejects.toBeInstanceOf(InvalidReactorError);
    });

    it('marks redrives by id, stream or all with a limit, and clears the mark on repark', async () => {
      const events = [event('order-a', 1), event('order-b', 2), event('order-b', 3), event('order-c', 4)];
      await store.park(events.map((recorded, index) => parked(reactor, recorded, index % 2)));
      await store.park([parked(reactor, event('order-c', 5), 1, 'waiting')]);
      expect(await store.requestRedrive({ reactor, eventIds: [events[0]!.id, randomUUID()] })).toBe(1);
      expect(await store.requestRedrive({ reactor, eventIds: [events[0]!.id] })).toBe(0);
      expect(await store.requestRedrive({ reactor, streamName: 'order-b', limit: 1 })).toBe(1);
      expect((await store.redriveRequested(reactor, [0, 1], 10)).map((row) => row.eventId)).toEqual([events[0]!.id, events[1]!.id]);
      expect((await store.redriveRequested(reactor, [1], 10)).map((row) => row.eventId)).toEqual([events[1]!.id]);
      // Waiting events are never marked: they follow the parked one.
      expect(await store.requestRedrive({ reactor, all: true })).toBe(2);
      expect((await store.redriveRequested(reactor, [0, 1], 10)).map((row) => row.eventId)).toEqual(events.map((recorded) => recorded.id));
      await store.repark(reactor, events[0]!.id, 7, { name: 'Error', message: 'again' });
      const [again] = (await store.parkedInStream(reactor, 'order-a'));
      expect(again).toMatchObject({ attempts: 7, reason: 'again', redriveRequested: false, status: 'parked' });
      await store.removeParked(reactor, events[0]!.id);
      expect(await store.parkedInStream(reactor, 'order-a')).toEqual([]);
    });

    it('records invocations, lists them newest first with filters, and prunes old ones', async () => {
      const base: Omit<Invocation, 'eventId' | 'attempt' | 'at'> = {
        reactor,
        streamName: 'order-1',
        position: Position.of(1n, 1n).toString(),
        outcome: 'retrying',
        durationMs: 1.5,
        error: { name: 'Error', message: 'nope' },
        workerId: 'w1',
      };
      const eventId = randomUUID();
      // Written at different times (separate flushes): retention works per flush.
      await store.recordInvocations([{ ...base, eventId, attempt: 1, at: new Date(Date.now() - 3_600_000) }]);
      await store.recordInvocations([
        { ...base, eventId, attempt: 2, at: new Date() },
        { ...base, eventId: randomUUID(), attempt: 1, outcome: 'succeeded', error: undefined, at: new Date() },
      ]);
      const all = await store.listInvocations({ reactor });
      expect(all.map((entry) => [entry.attempt, entry.outcome])).toEqual([
        [1, 'succeeded'],
        [2, 'retrying'],
        [1, 'retrying'],
      ]);
      expect(all[0]!.error).toBeUndefined();
      expect(all[1]).toMatchObject({ eventId, durationMs: 1.5, error: { message: 'nope' }, workerId: 'w1', streamName: 'order-1' });
      expect((await store.listInvocations({ reactor, limit: 1 })).map((entry) => entry.attempt)).toEqual([1]);
      expect(await store.listInvocations({ reactor: `${reactor}-none` })).toEqual([]);
      expect((await store.listInvocations({ eventId })).map((entry) => entry.attempt)).toEqual([2, 1]);
      expect((await store.listInvocations({ eventId, position: base.position })).map((entry) => entry.attempt)).toEqual([2, 1]);
      expect(await store.listInvocations({ position: Position.of(2n, 2n).toString() })).toEqual([]);
      expect(await store.pruneInvocations(new Date(Date.now() - 60_000))).toBeGreaterThanOrEqual(1);
      expect((await store.listInvocations({ eventId })).map((entry) => entry.attempt)).toEqual([2]);
    });
  });
}
