import { randomUUID } from 'node:crypto';
import { PostgresEventStore, PostgresKeyStore, PostgresReadModelStore } from '../../../src/backends/postgres';
import { ProjectionEngine } from '../../../src/projections';
import { membersProjection } from '../../personal-data/members.projection';
import type { JsonValue, RecordedEvent } from '../../../src/event-store/event-store';
import { keyStoreFor, protectPersonalData } from '../../../src';
import { REDACTED } from '../../../src/domain/personal-data';
import { profileEvents } from '../../personal-data/profile';
import { testDatabase } from '../../support/postgres';

let database: { url: string; drop(): Promise<void> };
let events: PostgresEventStore;

beforeAll(async () => {
  database = await testDatabase('personal_data');
  events = await PostgresEventStore.connect(database.url);
});
afterAll(async () => {
  await events.close();
  await database.drop();
});

async function all(items: AsyncIterable<RecordedEvent>): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const member = (memberId: string, name: string): JsonValue => ({ memberId, plan: 'basic', name, contact: { newsletter: false } });

/** The bytes of a relation's current file, read by the server itself (superuser), after a checkpoint. */
async function relationFile(path: string): Promise<Buffer> {
  await events.pool.query('CHECKPOINT');
  const result = await events.pool.query<{ bytes: Buffer | null }>('SELECT pg_read_binary_file($1, 0, 100000000, true) AS bytes', [path]);
  return result.rows[0]?.bytes ?? Buffer.alloc(0);
}

describe('crypto-shredding on PostgreSQL', () => {
  it('seals at append, reads back, and after a forget redacts with the key gone from the key table\'s files', async () => {
    const keys = await PostgresKeyStore.create(events.pool);
    // Processes starting together create the table once.
    await Promise.all([PostgresKeyStore.create(events.pool), PostgresKeyStore.create(events.pool)]);
    const store = protectPersonalData(events, { events: [profileEvents], keys });
    await store.appendToStream('member-pg-a', [{ id: randomUUID(), type: 'MemberJoined', data: member('pg-a', 'Philippa Tarrant-Oduya') }]);
    await store.appendToStream('member-pg-b', [{ id: randomUUID(), type: 'MemberJoined', data: member('pg-b', 'Bartholomew Ng') }]);

    const rows = await events.pool.query<{ data: string }>("SELECT data::text AS data FROM eventfold_events WHERE stream_name LIKE 'member-pg-%'");
    expect(rows.rows.map((row) => row.data).join()).not.toContain('Philippa');
    expect((await all(store.readStream('member-pg-a')))[0]!.data).toMatchObject({ name: 'Philippa Tarrant-Oduya' });

    const keyA = Buffer.from((await keys.keyFor('pg-a')).key);
    const keyB = Buffer.from((await keys.keyFor('pg-b')).key);
    const pathOf = async (): Promise<string> =>
      (await events.pool.query<{ path: string }>("SELECT pg_relation_filepath('eventfold_subject_keys') AS path")).rows[0]!.path;
    const before = await pathOf();
    expect((await relationFile(before)).includes(keyA)).toBe(true);

    const receipt = await store.forgetSubject('pg-a');
    expect(receipt).toMatchObject({ keysDestroyed: 1, streamName: 'subject-pg-a' });

    // VACUUM FULL wrote the table anew: the old file is gone, the new one holds the other key only.
    const after = await pathOf();
    expect(after).not.toBe(before);
    expect((await relationFile(before)).includes(keyA)).toBe(false);
    const current = await relationFile(after);
    expect(current.includes(keyA)).toBe(false);
    expect(current.includes(keyB)).toBe(true);

    expect((await all(store.readStream('member-pg-a')))[0]!.data).toMatchObject({ name: REDACTED, plan: 'basic' });
    expect((await all(store.readStream('member-pg-b')))[0]!.data).toMatchObject({ name: 'Bartholomew Ng' });
    const forgotten = (await all(store.readStream('subject-pg-a')))[0]!;
    expect(forgotten).toMatchObject({ type: 'SubjectForgotten', data: { subjectId: 'pg-a', keysDestroyed: 1 } });
  });

  it('blanks the read model on SubjectForgotten, and scrub() (VACUUM FULL) leaves the name in no table file', async () => {
    const keys = await keyStoreFor(events);
    expect(keys).toBeInstanceOf(PostgresKeyStore);
    const store = protectPersonalData(events, { events: [profileEvents], keys });
    const readModels = await PostgresReadModelStore.fromPool(events.pool, { scrub: 'vacuum-full' });
    const engine = new ProjectionEngine({ eventStore: store, readModels, projections: [membersProjection] });
    await engine.start();
    try {
      const name = 'Cassiopeia Vandermolen-Ruiz';
      await store.appendToStream('member-rm-a', [{ id: randomUUID(), type: 'MemberJoined', data: member('rm-a', name) }]);
      const { position } = await store.appendToStream('member-rm-b', [{ id: randomUUID(), type: 'MemberJoined', data: member('rm-b', 'Kept Person') }]);
      await engine.waitForPosition('members', position);
      const { rows } = await events.pool.query<{ tables: { table: string }[] }>("SELECT tables FROM eventfold_projection_slots WHERE name = 'members'");
      const table = rows[0]!.tables[0]!.table;
      const fileOf = async (): Promise<Buffer> =>
        relationFile((await events.pool.query<{ path: string }>('SELECT pg_relation_filepath($1::regclass) AS path', [table])).rows[0]!.path);
      expect((await fileOf()).includes(Buffer.from(name))).toBe(true);

      const receipt = await store.forgetSubject('rm-a');
      await engine.waitForPosition('members', receipt.position);
      await readModels.scrub();
      const current = await fileOf();
      expect(current.includes(Buffer.from(name))).toBe(false);
      expect(current.includes(Buffer.from('Kept Person'))).toBe(true);
    } finally {
      await engine.stop();
      await readModels.close();
    }
  });
});
