import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { parseDuration } from '../../src/cli/commands/archive';
import { connectEventStore, type EventStore } from '../../src/event-store';
import { writeHistory } from '../event-store/tamper-scenarios';
import { testDatabase } from '../support/postgres';

const root = resolve(__dirname, '../..');
const folder = mkdtempSync(join(tmpdir(), 'eventfold-archive-cli-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The CLI as a child process, as `npm run eventfold -- …` runs it. */
function eventfold(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, ['-r', '@swc-node/register', 'src/cli/main.ts', ...args], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      done({ code, stdout, stderr });
    });
  });
}

async function withStore<T>(url: string, work: (store: EventStore) => Promise<T>): Promise<T> {
  const store = await connectEventStore(url);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

describe('eventfold archive', () => {
  it('moves named and closed streams to archives, verify checks them with --archives, and an edited archive fails verify (SQLite, real process)', async () => {
    const url = `sqlite:${join(folder, `store-${files++}.db`)}`;
    const out = join(folder, `archives-${files++}`);
    await withStore(url, writeHistory);

    const named = await eventfold(['--json', 'archive', '--store', url, '--out', out, '--name', 'orders.ndjson.gz', '--stream', 'order-1', '--stream', 'order-3']);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toMatchObject({ file: join(out, 'orders.ndjson.gz'), streams: ['order-1', 'order-3'], events: 5, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(existsSync(join(out, 'orders.ndjson.gz'))).toBe(true);

    // order-2 was soft deleted by the history: it is the one closed stream.
    const closed = await eventfold(['archive', '--out', out, '--name', 'closed.ndjson.gz', '--closed'], { EVENTFOLD_STORE: url });
    expect(closed.code).toBe(0);
    expect(closed.stdout).toMatch(/^archived 1 stream\(s\), 1 events, to .*closed\.ndjson\.gz/);
    expect(closed.stdout).toContain('  order-2');

    await withStore(url, async (store) => {
      expect(await collect(store.readStream('order-1'))).toEqual([]);
      expect((await collect(store.readAll())).map((event) => event.streamName)).toEqual(['cart-1', 'cart-1']);
    });

    const plain = await eventfold(['verify', '--store', url]);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^intact: 8 events, 5 batches, 4 streams \(6 of the events archived, 0 of them checked against their archives\) checked/);
    const checked = await eventfold(['--json', 'verify', '--store', url, '--archives', out]);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout)).toMatchObject({ ok: true, eventsArchived: 6, archivedChecked: 6 });

    // Nothing left that matches: a usage error naming why, and no file written.
    const nothing = await eventfold(['archive', '--store', url, '--out', out, '--name', 'empty.ndjson.gz', '--older-than', '1d']);
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('no stream has all its events before');
    expect(existsSync(join(out, 'empty.ndjson.gz'))).toBe(false);

    const path = join(out, 'orders.ndjson.gz');
    writeFileSync(path, gzipSync(gunzipSync(readFileSync(path)).toString('utf8').replace('{\\"by\\":\\"cash\\"}', '{\\"by\\":\\"card\\"}')));
    const edited = await eventfold(['verify', '--store', url, '--archives', out]);
    expect(edited.code).toBe(1);
    expect(edited.stdout).toContain('archive orders.ndjson.gz has SHA-256');
    expect(edited.stdout).toContain('stream "order-3" revision 1 in archive orders.ndjson.gz does not match');

    // An archive changed so that it no longer opens (a byte appended to its gzip) is tampering too: exit 1, named.
    const closedPath = join(out, 'closed.ndjson.gz');
    writeFileSync(closedPath, Buffer.concat([readFileSync(closedPath), Buffer.from('x')]));
    const broken = await eventfold(['--json', 'verify', '--store', url, '--archives', out]);
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout).breaks).toContainEqual(
      expect.objectContaining({ kind: 'archive-altered', message: expect.stringContaining('archive closed.ndjson.gz has SHA-256') }),
    );
  }, 120_000);

  it('archives by age on PostgreSQL (real process)', async () => {
    const database = await testDatabase();
    try {
      await withStore(database.url, writeHistory);
      const out = join(folder, `archives-${files++}`);
      expect((await eventfold(['archive', '--store', database.url, '--out', out, '--older-than', '7d'])).code).toBe(2);
      // Two streams written a month ago (the time is not part of an event's hash: this changes no proof).
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query(`UPDATE eventfold_events SET recorded_at = recorded_at - interval '30 days' WHERE stream_name IN ('order-1', 'cart-1')`);
      await client.end();
      const archived = await eventfold(['--json', 'archive', '--store', database.url, '--out', out, '--older-than', '7d']);
      expect(archived.code).toBe(0);
      const report = JSON.parse(archived.stdout) as { streams: string[]; events: number };
      expect(report).toMatchObject({ streams: ['cart-1', 'order-1'], events: 5 });
      const verified = await eventfold(['--json', 'verify', '--store', database.url, '--archives', out]);
      expect(verified.code).toBe(0);
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, eventsArchived: 5, archivedChecked: 5 });
      await withStore(database.url, async (store) => {
        // A soft delete leaves $all alone (order-2); archived events are gone from it.
        expect((await collect(store.readAll())).map((event) => event.streamName)).toEqual(['order-2', 'order-3', 'order-3']);
      });
    } finally {
      await database.drop();
    }
  }, 120_000);

  it('refuses a selection that is missing, doubled or malformed (exit 2)', async () => {
    const url = `sqlite:${join(folder, `store-${files++}.db`)}`;
    await withStore(url, writeHistory);
    const out = join(folder, `archives-${files++}`);
    expect((await eventfold(['archive', '--store', url, '--out', out])).code).toBe(2);
    expect((await eventfold(['archive', '--store', url, '--out', out, '--closed', '--stream', 'order-1'])).code).toBe(2);
    expect((await eventfold(['archive', '--store', url, '--out', out, '--older-than', 'soon'])).code).toBe(2);
    expect((await eventfold(['archive', '--store', url, '--out', out, '--stream', 'order-404'])).stderr).toContain('does not exist');
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(() => parseDuration('1.5h')).toThrow();
  }, 120_000);
});
