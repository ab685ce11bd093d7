import { randomUUID } from 'node:crypto';
import { Position } from '../../src/event-store/position';
import { InvalidReactorError, type TimerRecord, type TimerStore } from '../../src/handlers';

const BASE = new Date('2026-03-01T10:00:00.000Z').getTime();

function version(sequence: number): string {
  return Position.of(BigInt(sequence), BigInt(sequence)).toString();
}

function timer(reactor: string, key: string, overrides: Partial<TimerRecord> = {}): TimerRecord {
  return {
    reactor,
    key,
    partition: 0,
    dueAt: new Date(BASE + 60_000),
    aggregate: 'ticket',
    streamName: 'ticket-1',
    command: { type: 'ExpireTicket', data: { reason: 'TIMEOUT', nested: [1, 'two'] } },
    causedBy: { id: randomUUID(), metadata: { correlationId: 'c-1' } },
    version: version(10),
    ...overrides,
  };
}

/**
 * The one contract every timer store keeps. `create` gives a store; the suite uses a fresh reactor name
 * per test so stores may share a database.
 */
export function timerStoreConformance(name: string, create: () => Promise<TimerStore>): void {
  describe(`timer store conformance: ${name}`, () => {
    let store: TimerStore;
    let reactor: string;
    beforeEach(async () => {
      store = await create();
      reactor = `r-${randomUUID().slice(0, 8)}`;
    });
    afterEach(async () => {
      await store.close();
    });

    it('stores a timer as given and finds it due by time, partition and status', async () => {
      const set = timer(reactor, 'a', { userId: 'u-1', tenantId: 't-1', metadata: { source: 'test' } });
      await store.applyTimerChanges([{ kind: 'set', timer: set }]);
      const stored = await store.getTimer(reactor, 'a');
      expect(stored).toEqual({ ...set, status: 'pending', attempts: 0 });
      const mine = <T extends { reactor: string }>(items: readonly T[]) => items.filter((item) => item.reactor === reactor);
      expect(mine(await store.dueTimers([0], new Date(BASE + 59_999), 100))).toEqual([]);
      expect(mine(await store.dueTimers([1], new Date(BASE + 60_000), 100))).toEqual([]);
      expect(mine(await store.dueTimers([0, 1], new Date(BASE + 60_000), 100)).map((item) => item.key)).toEqual(['a']);
    });

    it('ignores a change from an event at or before the one that last changed the timer', async () => {
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(10) }) }]);
      // The same event again (a redelivery), and an older one (a late event): nothing changes.
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(10), dueAt: new Date(BASE + 1) }) }]);
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(9), dueAt: new Date(BASE + 2) }) }]);
      expect((await store.getTimer(reactor, 'k'))?.dueAt).toEqual(new Date(BASE + 60_000));
      // A later event replaces it.
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(11), dueAt: new Date(BASE + 3) }) }]);
      expect((await store.getTimer(reactor, 'k'))?.dueAt).toEqual(new Date(BASE + 3));
      // A sent timer stays sent when its setting event comes again.
      await store.settleTimers([{ reactor, key: 'k', version: version(11), outcome: { status: 'fired', attempts: 1 }, at: new Date(BASE + 10) }]);
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(11), dueAt: new Date(BASE + 3) }) }]);
      expect((await store.getTimer(reactor, 'k'))?.status).toBe('fired');
      // A later cancel (the workflow moved on) leaves it shown as sent, and keeps older sets out.
      await store.applyTimerChanges([{ kind: 'cancel', reactor, key: 'k', partition: 0, version: version(12) }]);
      expect((await store.getTimer(reactor, 'k'))?.status).toBe('fired');
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'k', { version: version(11) }) }]);
      expect((await store.getTimer(reactor, 'k'))?.status).toBe('fired');
    });

    it('cancels by a later event, keeps a cancel that came first, and settles only the version it fired', async () => {
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'c', { version: version(5) }) }]);
      await store.applyTimerChanges([{ kind: 'cancel', reactor, key: 'c', partition: 0, version: version(4) }]);
      expect((await store.getTimer(reactor, 'c'))?.status).toBe('pending');
      await store.applyTimerChanges([{ kind: 'cancel', reactor, key: 'c', partition: 0, version: version(6) }]);
      expect((await store.getTimer(reactor, 'c'))?.status).toBe('cancelled');
      // The cancel arrived before the set it cancels (events of two streams in another order).
      await store.applyTimerChanges([{ kind: 'cancel', reactor, key: 'early', partition: 0, version: version(20) }]);
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'early', { version: version(19) }) }]);
      expect((await store.getTimer(reactor, 'early'))?.status).toBe('cancelled');
      // A settle for an older version (a worker that fired a replaced timer) leaves the new one pending.
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 's', { version: version(30) }) }]);
      await store.settleTimers([{ reactor, key: 's', version: version(29), outcome: { status: 'fired', attempts: 1 }, at: new Date(BASE) }]);
      expect((await store.getTimer(reactor, 's'))?.status).toBe('pending');
      await store.settleTimers([{ reactor, key: 's', version: version(30), outcome: { status: 'parked', attempts: 3, error: { name: 'Error', code: 'E', message: 'no' } }, at: new Date(BASE) }]);
      const parked = await store.getTimer(reactor, 's');
      expect(parked).toMatchObject({ status: 'parked', attempts: 3, error: { code: 'E', message: 'no' }, settledAt: new Date(BASE) });
    });

    it('applies one batch with several changes of one timer as if one by one', async () => {
      await store.applyTimerChanges([
        { kind: 'set', timer: timer(reactor, 'b', { version: version(10) }) },
        { kind: 'cancel', reactor, key: 'b', partition: 0, version: version(12) },
        { kind: 'set', timer: timer(reactor, 'b', { version: version(11) }) },
        { kind: 'set', timer: timer(reactor, 'b2', { version: version(10) }) },
        { kind: 'set', timer: timer(reactor, 'b2', { version: version(13), dueAt: new Date(BASE + 13) }) },
      ]);
      expect((await store.getTimer(reactor, 'b'))?.status).toBe('cancelled');
      expect(await store.getTimer(reactor, 'b2')).toMatchObject({ status: 'pending', dueAt: new Date(BASE + 13), version: version(13) });
    });

    it('applies a batch in one go, lists a page at a time, and finds the next due time after a moment', async () => {
      const changes = Array.from({ length: 7 }, (_, index) => ({
        kind: 'set' as const,
        timer: timer(reactor, `p${index}`, { dueAt: new Date(BASE + (7 - index) * 1_000), partition: index % 2 }),
      }));
      await store.applyTimerChanges(changes);
      const first = await store.listTimers({ reactor, limit: 3 });
      expect(first.items.map((item) => item.key)).toEqual(['p6', 'p5', 'p4']);
      const second = await store.listTimers({ reactor, limit: 3, after: first.next });
      expect(second.items.map((item) => item.key)).toEqual(['p3', 'p2', 'p1']);
      const third = await store.listTimers({ reactor, limit: 3, after: second.next });
      expect(third.items.map((item) => item.key)).toEqual(['p0']);
      expect(third.next).toBeUndefined();
      await expect(store.listTimers({ reactor, after: 'nonsense' })).rejects.toBeInstanceOf(InvalidReactorError);
      await expect(store.listTimers({ reactor, limit: 0 })).rejects.toBeInstanceOf(InvalidReactorError);
      const dueOdd = await store.nextDue([1], new Date(BASE));
      // Other tests' timers may share the table; none of them is this early on partition 1.
      expect(dueOdd).toEqual(new Date(BASE + 2_000));
      expect(await store.nextDue([0, 1], new Date(BASE + 7_000))).not.toEqual(new Date(BASE + 7_000));
    });

    it('cancels and redrives one timer for an operator', async () => {
      await store.applyTimerChanges([{ kind: 'set', timer: timer(reactor, 'o') }]);
      expect(await store.redriveTimer(reactor, 'o', new Date(BASE))).toBe(false);
      await store.settleTimers([{ reactor, key: 'o', version: version(10), outcome: { status: 'parked', attempts: 1, error: { name: 'Error', code: 'E', message: 'no' } }, at: new Date(BASE) }]);
      expect(await store.redriveTimer(reactor, 'o', new Date(BASE + 5))).toBe(true);
      expect(await store.getTimer(reactor, 'o')).toMatchObject({ status: 'pending', attempts: 0, dueAt: new Date(BASE + 5) });
      expect(await store.cancelTimer(reactor, 'o', new Date(BASE + 6))).toBe(true);
      expect(await store.cancelTimer(reactor, 'o', new Date(BASE + 7))).toBe(false);
      expect(await store.cancelTimer(reactor, 'missing', new Date(BASE))).toBe(false);
      expect((await store.listTimers({ reactor, status: 'cancelled' })).items.map((item) => item.key)).toEqual(['o']);
    });
  });
}
