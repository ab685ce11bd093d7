import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteEventStore, SqliteKeyStore, SqliteReadModelStore } from '../../../src/backends/sqlite';
import { handleCommand } from '../../../src/commands';
import { defineReactor, ReactorRunner } from '../../../src/handlers';
import { keyStoreFor, protectPersonalData, type PersonalDataStore } from '../../../src/personal-data';
import { ProjectionEngine } from '../../../src/projections';
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
