// The command layer on a durable backend: one suite, run against SQLite and PostgreSQL by one call each.
import { CommandIdReusedError, decodeRecorded, handleCommand, StateCache, type CommandReceipt, type SnapshotStore } from '../../src/commands';
import { loadStream } from '../../src/commands/stream-loader';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineAggregate, defineCommands, defineEvents, fold } from '../../src/domain';
import type { EventStore } from '../../src/event-store/event-store';
import { Position } from '../../src/event-store/position';
import { cart, snapshottingCart, type CartCommand, type CartEvent } from '../domain/shopping-cart';
import { readAllOf } from './store-doubles';

export interface DurableBackend {
  readonly store: EventStore;
  readonly snapshots: SnapshotStore;
  close(): Promise<void>;
}

/** Opens the same database every time it is called: a second call is a restart. */
export type OpenBackend = () => Promise<DurableBackend>;

const at = '2026-03-01T10:00:00.000Z';
const open: CartCommand = { type: 'OpenCart', data: { customerId: 'u-1', openedAt: at } };
const add = (sku: string, quantity = 1): CartCommand => ({ type: 'AddItem', data: { sku, quantity, unitPriceCents: 100 } });

/** A tally whose one command writes as many events as it says: one command's events can span read pages. */
const tally = defineAggregate({
  category: 'tally',
  commands: defineCommands({ Mark: { schema: z.object({ times: z.number().int().min(1).max(10) }), stream: 'any' } }),
  events: defineEvents({ Marked: z.object({ n: z.number().int() }) }),
  decider: {
    initialState: () => ({ marks: 0 }),
    decide: (command, state) => Array.from({ length: command.data.times }, (_, i) => ({ type: 'Marked' as const, data: { n: state.marks + i } })),
    evolve: (state, event) => ({ marks: Math.max(state.marks, event.data.n + 1) }),
  },
});

export function runCommandSuite(name: string, newDatabase: () => Promise<OpenBackend>): void {
  describe(`commands on ${name}`, () => {
    let openBackend: OpenBackend;
    let backend: DurableBackend;

    beforeEach(async () => {
      openBackend = await newDatabase();
      backend = await openBackend();
    });

    afterEach(() => backend.close());

    it('runs commands and folds from the stored snapshot plus the tail', async () => {
      const everyTwo = snapshottingCart(2);
      const environment = { store: backend.store, snapshots: backend.snapshots };
      for (const command of [open, add('tea'), add('cake'), add('tea', 2), add('jam')]) {
        await handleCommand(environment, everyTwo, { streamName: 'cart-1', command });
      }
      const snapshot = await backend.snapshots.load('cart-1');
      expect(snapshot).toMatchObject({ streamName: 'cart-1', revision: 3n, version: 1 });
      const stored = await readAllOf(backend.store, 'cart-1');
      expect(snapshot!.recentCommandIds).toEqual(stored.slice(0, 4).map((event) => event.metadata.commandId));
      expect(snapshot!.position.equals(stored[3]!.position)).toBe(true);

      const loaded = await loadStream(environment, everyTwo, 'cart-1');
      const events = stored.map((event) => decodeRecorded(cart.events, event));
      expect(loaded).toMatchObject({ snapshotRevision: 3n, revision: 4n });
      expect(loaded.state).toEqual(fold(cart, events));
    });

    it('answers a command retried after a restart with its original receipt', async () => {
      const environment = () => ({ store: backend.store, snapshots: backend.snapshots });
      const everyOne = snapshottingCart(1);
      const request = { streamName: 'cart-r', command: open, commandId: 'open-r' };
      const first = await handleCommand(environment(), everyOne, request);
      const added = await handleCommand(environment(), everyOne, { streamName: 'cart-r', command: add('tea'), commandId: 'add-r' });

      await backend.close();
      backend = await openBackend();
      expect((await backend.snapshots.load('cart-r'))!.revision).toBe(1n);
      const retried = await handleCommand(environment(), everyOne, request);
      expect(retried).toMatchObject({ commandId: 'open-r', revision: 0n, correlationId: 'open-r', events: first.events });
      expect(retried.position!.equals(first.position!)).toBe(true);
      expect(await handleCommand(environment(), everyOne, { streamName: 'cart-r', command: add('tea'), commandId: 'add-r' })).toMatchObject({
        revision: added.revision,
      });
      await expect(handleCommand(environment(), everyOne, { streamName: 'cart-r', command: add('jam'), commandId: 'open-r' })).rejects.toMatchObject({
        code: 'COMMAND_ID_REUSED',
      });
      expect(await readAllOf(backend.store, 'cart-r')).toHaveLength(2);
    });

    it('answers a retried command whose events span two read pages, far into a long stream, with all of them', async () => {
      const environment = { store: backend.store };
      // Revisions 0–997 by hand, then one command's three events at 998–1000 (a page holds 1,000), then more.
      const history = Array.from({ length: 998 }, (_, n) => ({ id: randomUUID(), type: 'Marked', data: { n } }));
      await backend.store.appendToStream('tally-long', history);
      const request = { streamName: 'tally-long', command: { type: 'Mark' as const, data: { times: 3 } }, commandId: 'mark-3' };
      const first = await handleCommand(environment, tally, request);
      expect(first.revision).toBe(1_000n);
      for (let i = 0; i < 3; i++) await handleCommand(environment, tally, { streamName: 'tally-long', command: { type: 'Mark', data: { times: 2 } } });

      const retried = await handleCommand(environment, tally, request);
      expect(retried.events).toEqual([998, 999, 1_000].map((n) => ({ type: 'Marked', data: { n } })));
      expect(retried).toMatchObject({ commandId: 'mark-3', revision: 1_000n, events: first.events });
      expect(retried.position!.equals(first.position!)).toBe(true);
      const loaded = await loadStream(environment, tally, 'tally-long');
      expect(loaded).toMatchObject({ revision: 1_006n, state: { marks: 1_007 } });
      const stored = await readAllOf(backend.store, 'tally-long');
      expect(loaded.position!.equals(stored[1_006]!.position)).toBe(true);
      expect(loaded.recentCommandIds).toEqual(stored.slice(998).map((e) => e.metadata.commandId).filter((id, i, ids) => id !== ids[i - 1]));
    });

    it('keeps the newer snapshot of a version; another version replaces it', async () => {
      const save = (revision: bigint, version: number, n: number) =>
        backend.snapshots.save({
          streamName: 'cart-s',
          revision,
          position: Position.of(revision + 1n, revision + 1n),
          version,
          state: { n },
          recentCommandIds: [`command-${n}`],
        });
      await save(5n, 1, 5);
      await Promise.all([save(3n, 1, 3), save(5n, 1, 55)]);
      expect(await backend.snapshots.load('cart-s')).toMatchObject({ revision: 5n, version: 1, state: { n: 5 } });
      await save(2n, 2, 2);
      const replaced = await backend.snapshots.load('cart-s');
      expect(replaced).toMatchObject({ revision: 2n, version: 2, state: { n: 2 }, recentCommandIds: ['command-2'] });
      expect(replaced!.position.equals(Position.of(3n, 3n))).toBe(true);
      expect(await backend.snapshots.load('cart-none')).toBeUndefined();
    });

    it('saves many snapshots at once', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          backend.snapshots.save({ streamName: `cart-${i}`, revision: 1n, position: Position.of(1n, 1n), version: 1, state: { i }, recentCommandIds: [] }),
        ),
      );
      for (let i = 0; i < 20; i++) expect((await backend.snapshots.load(`cart-${i}`))!.state).toEqual({ i });
    });

    it('serves 16 concurrent callers on their own streams', async () => {
      const environment = { store: backend.store, snapshots: backend.snapshots };
      const everyFour = snapshottingCart(4);
      const receipts = await Promise.all(
        Array.from({ length: 16 }, async (_, caller) => {
          const streamName = `cart-caller${caller}`;
          const done: CommandReceipt<CartEvent>[] = [await handleCommand(environment, everyFour, { streamName, command: open })];
          for (let i = 0; i < 5; i++) done.push(await handleCommand(environment, everyFour, { streamName, command: add(`sku-${i}`) }));
          return done;
        }),
      );
      for (const [caller, done] of receipts.entries()) {
        expect(done.map((receipt) => receipt.revision)).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
        expect(await readAllOf(backend.store, `cart-caller${caller}`)).toHaveLength(6);
      }
    });

    it.each([
      ['without', undefined],
      ['with', () => new StateCache()],
    ])('resolves 16 callers racing on one stream by retrying, %s a state cache', async (_label, newCache) => {
      const environment = { store: backend.store, cache: newCache?.(), retry: { maxRetries: 40, baseDelayMs: 1, maxDelayMs: 10 } };
      await handleCommand(environment, cart, { streamName: 'cart-hot', command: open });
      const receipts = await Promise.all(
        Array.from({ length: 16 }, (_, caller) => handleCommand(environment, cart, { streamName: 'cart-hot', command: add(`sku-${caller}`) })),
      );
      expect(receipts.map((receipt) => receipt.revision).sort((a, b) => (a < b ? -1 : 1))).toEqual(
        Array.from({ length: 16 }, (_, i) => BigInt(i + 1)),
      );
      const stored = await readAllOf(backend.store, 'cart-hot');
      expect(stored.map((event) => event.revision)).toEqual(Array.from({ length: 17 }, (_, i) => BigInt(i)));
      expect(new Set(stored.slice(1).map((event) => (event.data as { sku: string }).sku)).size).toBe(16);
      if (environment.cache) expect(environment.cache.get(cart, 'cart-hot')).toMatchObject({ revision: 16n });
    });

    it('writes a command sent many times at once exactly once', async () => {
      const environment = { store: backend.store };
      await handleCommand(environment, cart, { streamName: 'cart-dup', command: open });
      const request = { streamName: 'cart-dup', command: add('tea'), commandId: 'add-dup' };
      const receipts = await Promise.all(Array.from({ length: 8 }, () => handleCommand(environment, cart, request)));
      for (const receipt of receipts) expect(receipt).toMatchObject({ revision: 1n, commandId: 'add-dup' });
      expect(await readAllOf(backend.store, 'cart-dup')).toHaveLength(2);
    });

    it('acknowledges one of 8 racing commands that reuse one command id with different payloads; the rest learn COMMAND_ID_REUSED', async () => {
      const environment = { store: backend.store };
      for (let round = 0; round < 6; round++) {
        const streamName = `cart-reuse${round}`;
        const commandId = `reuse-${round}-${randomUUID()}`;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 8 }, (_, caller) =>
            handleCommand(environment, cart, {
              streamName,
              commandId,
              command: { type: 'OpenCart', data: { customerId: `u-${caller}`, openedAt: at } },
            }),
          ),
        );
        const receipts = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
        expect(receipts).toHaveLength(1);
        const refusals = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
        expect(refusals).toHaveLength(7);
        for (const refusal of refusals) expect(refusal).toBeInstanceOf(CommandIdReusedError);
        const stored = await readAllOf(backend.store, streamName);
        expect(stored).toHaveLength(1);
        expect(receipts[0]!.events).toEqual(stored.map((event) => decodeRecorded(cart.events, event)));
        expect(receipts[0]!.position?.equals(stored[0]!.position)).toBe(true);
      }
    });

    it('gives 8 racing identical retries on a new stream one receipt and stores their events once', async () => {
      const environment = { store: backend.store };
      for (let round = 0; round < 3; round++) {
        const streamName = `cart-retry${round}`;
        const request = { streamName, command: open, commandId: `open-${round}-${randomUUID()}` };
        const receipts = await Promise.all(Array.from({ length: 8 }, () => handleCommand(environment, cart, request)));
        const stored = await readAllOf(backend.store, streamName);
        expect(stored).toHaveLength(1);
        for (const receipt of receipts) {
          expect(receipt).toMatchObject({ commandId: request.commandId, revision: 0n, events: [decodeRecorded(cart.events, stored[0]!)] });
          expect(receipt.position?.equals(stored[0]!.position)).toBe(true);
        }
      }
    });
  });
}
