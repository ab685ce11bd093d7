import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { connectEventStore } from '../../src';
import { testDatabase } from '../support/postgres';
import { cli, startCli } from './support/run-cli';

interface Backend {
  readonly name: string;
  /** A fresh, empty store's connection string. */
  fresh(): Promise<string>;
  /** The event-store tables the store's database holds now. */
  tables(url: string): Promise<string[]>;
}

const dir = mkdtempSync(join(tmpdir(), 'eventfold-cli-'));
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
  rmSync(dir, { recursive: true, force: true });
});

const backends: Backend[] = [
  {
    name: 'SQLite',
    fresh: () => Promise.resolve(`sqlite:${join(dir, `${randomUUID()}.db`)}`),
    tables: (url) => {
      const db = new Database(url.slice('sqlite:'.length), { fileMustExist: true });
      try {
        return Promise.resolve(
          (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'eventfold%'").all() as { name: string }[]).map((row) => row.name),
        );
      } finally {
        db.close();
      }
    },
  },
  {
    name: 'PostgreSQL',
    async fresh() {
      const database = await testDatabase('cli');
      drops.push(() => database.drop());
      return database.url;
    },
    async tables(url) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const result = await client.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_name LIKE 'eventfold%'");
        return result.rows.map((row) => row.name);
      } finally {
        await client.end();
      }
    },
  },
];

/** Seeds `order-0` … `order-4` (revisions 0..3) and `customer-1`, 21 events in all. */
async function seed(url: string): Promise<void> {
  const store = await connectEventStore(url);
  try {
    for (let round = 0; round < 4; round++) {
      for (let order = 0; order < 5; order++) {
        await store.appendToStream(`order-${order}`, [{ id: randomUUID(), type: round === 0 ? 'OrderPlaced' : 'OrderUpdated', data: { order, round }, metadata: { correlationId: `c-${order}` } }]);
      }
    }
    await store.appendToStream('customer-1', [{ id: randomUUID(), type: 'CustomerRegistered', data: { name: 'Ada' } }]);
  } finally {
    await store.close();
  }
}

describe.each(backends)('eventfold store commands on $name', (backend) => {
  jest.setTimeout(30_000);
  let url: string;

  beforeAll(async () => {
    url = await backend.fresh();
    await seed(url);
  });

  it('migrate creates the schema of a fresh store, events and reactor bookkeeping, and says so', async () => {
    const fresh = await backend.fresh();
    const run = await cli(['migrate', '--json'], { env: { EVENTFOLD_STORE: fresh } });
    expect(run.code).toBe(0);
    expect(run.json()).toEqual([{ migrated: true, backend: backend.name === 'SQLite' ? 'sqlite' : 'postgres', reactorState: true }]);
    const tables = await backend.tables(fresh);
    expect(tables).toEqual(expect.arrayContaining(['eventfold_events', 'eventfold_streams']));
    // Reactor checkpoints and parked events are migrated too.
    expect(tables.filter((table) => table.startsWith('eventfold_reactor')).length).toBeGreaterThan(0);
  });

  it('streams list pages by prefix in name order', async () => {
    const first = await cli(['streams', 'list', '--store', url, '--prefix', 'order-', '--limit', '2', '--json']);
    expect(first.code).toBe(0);
    expect(first.json()).toEqual([
      { streamName: 'order-0', revision: '3' },
      { streamName: 'order-1', revision: '3' },
    ]);
    const next = await cli(['streams', 'list', '--store', url, '--prefix', 'order-', '--after', 'order-1', '--limit', '10', '--json']);
    expect(next.json<{ streamName: string }>().map((stream) => stream.streamName)).toEqual(['order-2', 'order-3', 'order-4']);
    const human = await cli(['streams', 'list', '--store', url]);
    expect(human.stdout).toBe('customer-1  0\norder-0  3\norder-1  3\norder-2  3\norder-3  3\norder-4  3\n');
  });

  it('streams read prints a stream from a revision, and exits 1 for a stream with no events', async () => {
    const run = await cli(['streams', 'read', 'order-2', '--store', url, '--from-revision', '2', '--json']);
    expect(run.code).toBe(0);
    const events = run.json<{ streamName: string; revision: string; type: string; data: unknown; metadata: unknown; id: string; recordedAt: string }>();
    expect(events.map((event) => [event.revision, event.type, event.data])).toEqual([
      ['2', 'OrderUpdated', { order: 2, round: 2 }],
      ['3', 'OrderUpdated', { order: 2, round: 3 }],
    ]);
    expect(events[0]!.metadata).toEqual({ correlationId: 'c-2' });
    expect(new Date(events[0]!.recordedAt).toISOString()).toBe(events[0]!.recordedAt);
    const human = await cli(['streams', 'read', 'customer-1', '--store', url]);
    expect(human.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z {2}customer-1@0 {2}CustomerRegistered {2}\{"name":"Ada"\}\n$/);
    const missing = await cli(['streams', 'read', 'order-99', '--store', url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('stream "order-99" has no events');
  });

  it('stats counts streams and events and gives the size, oldest and newest', async () => {
    const run = await cli(['stats', '--store', url, '--json']);
    expect(run.code).toBe(0);
    const [stats] = run.json<{ streams: number; events: number; bytes: number; oldest: string; newest: string }>();
    expect(stats).toMatchObject({ streams: 6, events: 21 });
    expect(stats!.bytes).toBeGreaterThan(0);
    const store = await connectEventStore(url);
    const all = [];
    for await (const event of store.readAll()) all.push(event);
    await store.close();
    expect(stats!.oldest).toBe(all[0]!.recordedAt.toISOString());
    expect(stats!.newest).toBe(all.at(-1)!.recordedAt.toISOString());
  });

  it('tail prints new events matching its filter until it is stopped, and exits 0', async () => {
    const controller = new AbortController();
    const tail = startCli(['tail', '--store', url, '--prefix', 'order-', '--type', 'OrderShipped', '--json'], { signal: controller.signal });
    // Old events are not shown: tail starts at the end. Wait until it follows before appending.
    const store = await connectEventStore(url);
    try {
      await tail.stderr.waitFor(/caught up/);
      await store.appendToStream('order-1', [{ id: randomUUID(), type: 'OrderShipped', data: { n: 1 } }]);
      await store.appendToStream('customer-1', [{ id: randomUUID(), type: 'OrderShipped', data: { n: 'other stream' } }]);
      await store.appendToStream('order-2', [{ id: randomUUID(), type: 'OrderUpdated', data: { n: 'other type' } }]);
      await store.appendToStream('order-3', [{ id: randomUUID(), type: 'OrderShipped', data: { n: 3 } }]);
      await tail.stdout.waitFor(/"order-3"/);
    } finally {
      await store.close();
    }
    controller.abort();
    const run = await tail.done;
    expect(run.code).toBe(0);
    expect(run.json<{ streamName: string; data: unknown }>().map((event) => [event.streamName, event.data])).toEqual([
      ['order-1', { n: 1 }],
      ['order-3', { n: 3 }],
    ]);
  });

  it('exits 2 with a clear message for a bad option or an unreachable store', async () => {
    const badLimit = await cli(['streams', 'list', '--store', url, '--limit', '0']);
    expect(badLimit.code).toBe(2);
    expect(badLimit.stderr).toContain('must be a whole number from 1 to 10000');
    const noStore = await cli(['stats']);
    expect(noStore.code).toBe(2);
    expect(noStore.stderr).toContain('no store given');
    const badName = await cli(['streams', 'read', '$all', '--store', url]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('reserved');
  });
});

it('a PostgreSQL server that does not answer is a connection error (exit 2)', async () => {
  const run = await cli(['stats', '--store', 'postgres://nobody:secret@127.0.0.1:1/none?connect_timeout=2']);
  expect(run.code).toBe(2);
  expect(run.stderr).toContain('cannot open store');
  expect(run.stderr).not.toContain('secret');
});
