import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore, SqliteKeyStore, SqliteReadModelStore } from '../../../src/backends/sqlite';
import { handleCommand } from '../../../src/commands';
import { defineReactor, ReactorRunner } from '../../../src/handlers';
import { keyStoreFor, protectPersonalData, type PersonalDataStore } from '../../../src/personal-data';
import { InMemoryEventStore, type AppendResult } from '../../../src/event-store';
import { defineCollection, defineProjection, ProjectionEngine } from '../../../src/projections';
import { membersProjection } from '../../personal-data/members.projection';
import { profile, profileEvents } from '../../personal-data/profile';
import { tempDir } from '../../projections/support/temp-dir';

const NAME = 'Zebedee Quixotic-Fairweather';
const CITY = 'Llanfairpwllgwyngyll';
const EMAIL = 'zebedee.quixotic@example.org';

/** Which files of the folder hold these bytes (database, WAL and shared-memory files alike). */
function filesHolding(folder: string, needles: readonly Buffer[]): string[] {
  return readdirSync(folder).filter((name) => {
    const bytes = readFileSync(join(folder, name));
    return needles.some((needle) => bytes.includes(needle));
  });
}

describe('crypto-shredding on SQLite', () => {
  const dir = tempDir('eventfold-personal-');
  afterAll(() => dir.remove());

  it('leaves no byte of a forgotten subject\'s personal data or key in any file of the data folder', async () => {
    const events = SqliteEventStore.open(dir.file('events.db'));
    const keys = await keyStoreFor(events);
    expect(keys).toBeInstanceOf(SqliteKeyStore);
    const store: PersonalDataStore = protectPersonalData(events, { events: [profileEvents], keys });
    const readModels = SqliteReadModelStore.open(dir.file('read-models.db'));
    const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [membersProjection] });
    // A reactor that always fails: the event is parked, and the parked copy must be sealed too.
    const failing = defineReactor({
      name: 'welcome-mail',
      filter: { eventTypes: ['MemberJoined'] },
      retry: { maxAttempts: 1 },
      handle: () => Promise.reject(new Error('the mail server is down')),
    });
    const runner = await ReactorRunner.start({ store, reactors: [failing] });
    await engine.start();
    try {
      await handleCommand({ store }, profile, {
        streamName: 'member-m-z',
        command: { type: 'Join', data: { memberId: 'm-z', name: NAME, city: CITY, email: EMAIL } },
      });
      const last = await handleCommand({ store }, profile, {
        streamName: 'member-m-other',
        command: { type: 'Join', data: { memberId: 'm-other', name: 'Other Person', city: 'Elsewhere' } },
      });
      await engine.waitForPosition('members', last.position!);
      await runner.waitForPosition('welcome-mail', last.position!);
      const parked = await runner.listParked({ reactor: 'welcome-mail' });
      expect(parked.items.map((item) => (item.event.data as { name: string }).name).sort()).toEqual([NAME, 'Other Person'].sort());

      const needles = [NAME, CITY, EMAIL].map((text) => Buffer.from(text, 'utf8'));
      const key = Buffer.from((await keys.keyFor('m-z')).key);
      // Before: the plaintext lives only in the read model (the events and the parked copy are sealed).
      expect(filesHolding(dir.path, needles).every((name) => name.startsWith('read-models.db'))).toBe(true);
      expect(filesHolding(dir.path, needles).length).toBeGreaterThan(0);
      expect(filesHolding(dir.path, [key])).not.toEqual([]);

      const receipt = await store.forgetSubject('m-z');
      expect(receipt.keysDestroyed).toBe(1);
      await engine.waitForPosition('members', receipt.position);
      await readModels.scrub();

      expect(filesHolding(dir.path, needles)).toEqual([]);
      expect(filesHolding(dir.path, [key])).toEqual([]);
      expect(readdirSync(dir.path)).toEqual(expect.arrayContaining(['events.db', 'events.db-wal', 'read-models.db', 'read-models.db-wal']));

      // Every reader still works: the parked event and the stream read redacted, the other member plainly.
      const after = await runner.listParked({ reactor: 'welcome-mail' });
      const names = after.items.map((item) => (item.event.data as { name: unknown }).name);
      expect(names).toContainEqual({ redacted: true, reason: 'forgotten' });
      expect(names).toContain('Other Person');
      const folded = await handleCommand({ store }, profile, { streamName: 'member-m-z', command: { type: 'ChangePlan', data: { plan: 'plus' } } });
      expect(folded.events).toHaveLength(1);
    } finally {
      await runner.stop();
      await engine.stop();
      await readModels.close();
      await store.close();
    }
  });
});

/**
 * Documents that hold a secret, rewritten (growing and shrinking) until their tables' pages have been
 * split and rebuilt many times, then blanked. SQLite's `secure_delete` zeroes deleted cells and free
 * blocks, but not the unallocated gap a page keeps when it is rebuilt during balancing: copies of moved
 * rows stayed there (found in the document tables' pages below their content start). This failed, for
 * some of the seeds, before `scrub()` rebuilt the file.
 */
describe('scrub on a SQLite read-model file whose pages were split and rebuilt', () => {
  const dir = tempDir('eventfold-scrub-');
  afterAll(() => dir.remove());

  interface Doc {
    readonly key: string;
    readonly owner: string;
    readonly text: string | null;
    readonly padding: string;
  }
  const docs = defineCollection<Doc>({ indexes: { owner: 'text' } });
  const projection = defineProjection({
    name: 'secrets',
    version: 1,
    eventTypes: ['Put', 'Blank'],
    collections: { docs },
    async handle(events, tx) {
      const table = tx.documents('docs');
      for (const event of events) {
        const data = event.data as { key: string; owner: string; text: string; padding: number };
        if (event.type === 'Put') table.put(data.key, { key: data.key, owner: data.owner, text: data.text, padding: 'p'.repeat(data.padding) });
        else for (const doc of await table.find({ where: { owner: data.owner } })) table.put(doc.key, { ...doc, text: null });
      }
    },
  });

  it.each(Array.from({ length: 16 }, (_, seed) => seed))('leaves no byte of the blanked secret in the files (seed %i)', async (seed) => {
    const eventStore = new InMemoryEventStore();
    const folder = dir.file(`seed-${seed}`);
    const readModels = SqliteReadModelStore.open(join(folder, 'read-models.db'));
    const engine = new ProjectionEngine({ eventStore, readModels, projections: [projection], batchSize: 7 });
    const secret = `Secret-${seed}-Ottoline-Quaritch`;
    await engine.start();
    try {
      let last: AppendResult | undefined;
      for (let index = 0; index < 150; index++) {
        const owner = index % 3 === 0 ? 'victim' : `owner-${index}`;
        // Keys in random order, as ids are: rows land all over the table.
        const key = `${((index * 7919 + seed * 104729) % 1000).toString().padStart(3, '0')}-${index}`;
        // A different size on every rewrite, so that rows move between pages.
        for (let rewrite = 0; rewrite < 4; rewrite++) {
          const padding = 200 + ((index * 37 + rewrite * 61 + seed * 17) % 1200);
          last = await eventStore.appendToStream(`doc-${index}`, [
            { id: randomUUID(), type: 'Put', data: { key, owner, text: owner === 'victim' ? secret : `plain ${index}`, padding } },
          ]);
        }
        last = await eventStore.appendToStream(`doc-${index}`, [
          { id: randomUUID(), type: 'Put', data: { key, owner, text: owner === 'victim' ? secret : `plain ${index}`, padding: 300 + index } },
        ]);
      }
      await engine.waitForPosition('secrets', last!.position);
      expect(filesHolding(folder, [Buffer.from(secret)])).not.toEqual([]);

      const blanked = await eventStore.appendToStream('blank', [{ id: randomUUID(), type: 'Blank', data: { owner: 'victim' } }]);
      await engine.waitForPosition('secrets', blanked.position);
      const left = await readModels.documents(projection, 'docs').find({ where: { owner: 'victim' } });
      expect(left.length).toBe(50);
      expect(left.every((doc) => doc.text === null)).toBe(true);
      await readModels.scrub();

      expect(filesHolding(folder, [Buffer.from(secret)])).toEqual([]);
      expect(await readModels.documents(projection, 'docs').count({ owner: 'owner-1' })).toBe(1);
    } finally {
      await engine.stop();
      await readModels.close();
    }
  });
});
