import { randomUUID } from 'node:crypto';
import type { AppendHookHost } from '../../src/event-store/append-hook';
import type { EventData, EventStore } from '../../src/event-store/event-store';
import {
  InlineProjectionFailedError,
  ProjectionEngine,
  type ProjectionChange,
  type ReadModelStore,
} from '../../src/projections';
import { ledgerProjection, type Account } from './support/ledger.projection';

/** An event store and a read-model store in one database, and a second writer without the engine. */
export interface InlineFixture {
  readonly eventStore: EventStore & AppendHookHost;
  readonly readModels: ReadModelStore;
  /** Another connection to the same event store, appending without any inline projection (another process). */
  readonly otherWriter: EventStore;
  /** Runs a query on the shared database. */
  readonly sql: (text: string) => Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

const deposit = (accountId: string, amount: number): EventData => ({
  id: randomUUID(),
  type: 'Deposited',
  data: { accountId, amount },
});

/** The same tests for every backend that runs inline projections. */
export function runInlineSuite(label: string, open: () => Promise<InlineFixture>): void {
  describe(`inline projections (${label})`, () => {
    let fixture: InlineFixture;
    let engine: ProjectionEngine | undefined;
    /** Event ids the ledger's handler throws on. */
    const poison = new Set<string>();

    beforeEach(async () => {
      fixture = await open();
      poison.clear();
    });

    afterEach(async () => {
      await engine?.stop();
      engine = undefined;
      await fixture.close();
    });

    const projection = ledgerProjection({
      onEvent: (eventId) => {
        if (poison.has(eventId)) throw new Error(`refusing ${eventId}`);
      },
    });

    async function startEngine(): Promise<ProjectionEngine> {
      engine = new ProjectionEngine({
        eventStore: fixture.eventStore,
        readModels: fixture.readModels,
        projections: [projection],
        inline: ['ledger'],
      });
      await engine.start();
      await engine.waitForState('ledger', 'live', { timeoutMs: 10_000 });
      return engine;
    }

    const account = (id: string): Promise<Account | undefined> => fixture.readModels.documents(projection, 'accounts').get(id);
    const appliedRows = async (): Promise<number> =>
      Number((await fixture.sql('SELECT COUNT(*) AS n FROM applied'))[0]!.n);

    it('an append is in the read model, the checkpoint and the change feed by the time it resolves', async () => {
      const running = await startEngine();
      const changes: ProjectionChange[] = [];
      running.changes.subscribe((change) => changes.push(change));
      // Other processes hear of it through the database's own channel (SQLite change log, NOTIFY).
      let heardElsewhere: (change: ProjectionChange) => void = () => undefined;
      const elsewhere = new Promise<ProjectionChange>((resolve) => (heardElsewhere = resolve));
      const stopWatching = await fixture.readModels.watchChanges!((change) => heardElsewhere(change));

      const { position } = await fixture.eventStore.appendToStream('account-a', [deposit('a', 5)]);
      // No wait of any kind between the append and these reads.
      expect(await account('a')).toEqual({ accountId: 'a', balance: 5, deposits: 1 });
      expect(changes).toEqual([{ projection: 'ledger', version: 1, position, keys: ['a'] }]);
      const status = await running.status('ledger');
      expect(status.position?.equals(position)).toBe(true);
      expect(status.state).toBe('live');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no cross-process announcement')), 5_000)));
      try {
        expect(await Promise.race([elsewhere, timeout])).toEqual({ projection: 'ledger', version: 1, position, keys: ['a'] });
      } finally {
        clearTimeout(timer);
        await stopWatching();
      }

      // Appends made in the same turn share one transaction (group commit): all of them are applied.
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, n) => fixture.eventStore.appendToStream(`account-${n}`, [deposit(`g${n}`, n + 1)])),
      );
      for (let n = 0; n < 20; n++) expect((await account(`g${n}`))?.balance).toBe(n + 1);
      expect(await appliedRows()).toBe(21);
      const last = results.map((result) => result.position).reduce((a, b) => (a.isAfter(b) ? a : b));
      expect((await running.status('ledger')).position?.equals(last)).toBe(true);
    });

    it('a handler that throws rejects its append, which writes nothing; the other appends of the group commit', async () => {
      const running = await startEngine();
      const { position: before } = await fixture.eventStore.appendToStream('account-a', [deposit('a', 1)]);
      const refused = deposit('b', 100);
      poison.add(refused.id);
      const withGood = deposit('c', 7);

      const outcomes = await Promise.allSettled([
        fixture.eventStore.appendToStream('account-x', [deposit('x', 2)]),
        // One append, two events: the good one must not land either.
        fixture.eventStore.appendToStream('account-b', [withGood, refused]),
        fixture.eventStore.appendToStream('account-y', [deposit('y', 3)]),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const error = (outcomes[1] as PromiseRejectedResult).reason as InlineProjectionFailedError;
      expect(error).toBeInstanceOf(InlineProjectionFailedError);
      expect(error.code).toBe('INLINE_PROJECTION_FAILED');
      expect(error.projection).toBe('ledger');

      // Nothing of the refused append: no events, no documents, no table rows.
      const stored: string[] = [];
      for await (const event of fixture.eventStore.readStream('account-b')) stored.push(event.id);
      expect(stored).toEqual([]);
      expect(await account('b')).toBeUndefined();
      expect(await account('c')).toBeUndefined();
      expect((await account('x'))?.balance).toBe(2);
      expect((await account('y'))?.balance).toBe(3);
      expect(await appliedRows()).toBe(3);

      // The projection is not stopped: the next append goes in inline, and its checkpoint moved past `before`.
      const status = await running.status('ledger');
      expect(status.state).toBe('live');
      expect(status.position?.isAfter(before)).toBe(true);
      await fixture.eventStore.appendToStream('account-c', [deposit('c', 4)]);
      expect((await account('c'))?.balance).toBe(4);
    });

    it('catches up through the async path first, never applies an event twice, and then goes inline', async () => {
      let expected = 0;
      for (let n = 1; n <= 30; n++) {
        await fixture.eventStore.appendToStream(`account-${n % 3}`, [deposit('a', n)]);
        expected += n;
      }
      engine = new ProjectionEngine({
        eventStore: fixture.eventStore,
        readModels: fixture.readModels,
        projections: [projection],
        inline: ['ledger'],
      });
      await engine.start();
      // Appended while the runner is still catching up: left to the runner, not applied inline.
      const during = await fixture.eventStore.appendToStream('account-a', [deposit('a', 1_000)]);
      expected += 1_000;
      await engine.waitForPosition('ledger', during.position, { timeoutMs: 10_000 });
      expect((await account('a'))?.balance).toBe(expected);

      // A writer without the engine (another process): its event is caught up by the runner; the
      // engine's next append must not be applied inline ahead of it.
      const other = await fixture.otherWriter.appendToStream('account-o', [deposit('a', 10_000)]);
      const next = await fixture.eventStore.appendToStream('account-a', [deposit('a', 100_000)]);
      expected += 110_000;
      expect(next.position.isAfter(other.position)).toBe(true);
      await engine.waitForPosition('ledger', next.position, { timeoutMs: 10_000 });
      expect((await account('a'))?.balance).toBe(expected);
      expect(await appliedRows()).toBe(33);

      // Up to date again: inline.
      await engine.waitForState('ledger', 'live', { timeoutMs: 10_000 });
      await fixture.eventStore.appendToStream('account-a', [deposit('a', 1)]);
      expect((await account('a'))?.balance).toBe(expected + 1);
      expect(await appliedRows()).toBe(34);
    });

    it('rebuilds without downtime and keeps applying inline to the rebuilt version', async () => {
      const running = await startEngine();
      for (let n = 1; n <= 10; n++) await fixture.eventStore.appendToStream('account-a', [deposit('a', n)]);
      await running.rebuild('ledger');
      // Appended during the rebuild (inline into the serving version, or by its runner while readers
      // switch over); the rebuild catches up with it either way.
      const during = await fixture.eventStore.appendToStream('account-a', [deposit('a', 100)]);
      await running.waitForPosition('ledger', during.position, { timeoutMs: 10_000 });
      expect((await account('a'))?.balance).toBe(155);
      await running.whenRebuilt('ledger', { timeoutMs: 20_000 });
      expect((await running.status('ledger')).rebuild).toBeUndefined();
      expect((await account('a'))?.balance).toBe(155);

      const { position } = await fixture.eventStore.appendToStream('account-a', [deposit('a', 1_000)]);
      expect((await account('a'))?.balance).toBe(1_155);
      expect((await running.status('ledger')).position?.equals(position)).toBe(true);
      expect(await appliedRows()).toBe(12);
    });
  });
}
