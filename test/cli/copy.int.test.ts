import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectEventStore, type EventStore, type RecordedEvent } from '../../src';
import { testDatabase } from '../support/postgres';
import { Captured, cli, startCli } from './support/run-cli';

const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'eventfold-copy-'));
const drops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const drop of drops) await drop();
  rmSync(dir, { recursive: true, force: true });
});

async function postgresUrl(): Promise<string> {
  const database = await testDatabase('copy');
  drops.push(() => database.drop());
  return database.url;
}

async function readAll(url: string): Promise<RecordedEvent[]> {
  const store = await connectEventStore(url);
  try {
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll()) events.push(event);
    return events;
  } finally {
    await store.close();
  }
}

/** What a copy must keep of each event, in `$all` order (positions differ between stores by design). */
function kept(events: readonly RecordedEvent[]) {
  return events.map((event) => ({
    id: event.id,
    streamName: event.streamName,
    revision: event.revision,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.getTime(),
  }));
}

/** Streams interleaved in `$all`, rich metadata, appends of several events: `rounds × 4` streams' worth. */
async function seed(store: EventStore, rounds: number, eventsPerAppend = 1): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    for (const stream of ['order-a', 'order-b', 'customer-1', `cart-${round % 3}`]) {
      await store.appendToStream(
        stream,
        Array.from({ length: eventsPerAppend }, (_, index) => ({
          id: randomUUID(),
          type: round === 0 ? 'Started' : 'Changed',
          data: { round, index, nested: { list: [1, 'two', null, true], unicode: 'çà 🚲' } },
          metadata: { correlationId: `c-${round}`, causationId: randomUUID(), userId: 'u-1', custom: { deep: [round] } },
        })),
      );
    }
  }
}

describe('eventfold copy', () => {
  jest.setTimeout(120_000);

  it('copies SQLite to PostgreSQL with the same ids, revisions, metadata, times and $all order, and verifies it', async () => {
    const source = `sqlite:${join(dir, 'source.db')}`;
    const store = await connectEventStore(source);
    await seed(store, 30, 2);
    await store.close();
    const target = await postgresUrl();

    const run = await cli(['copy', '--from', source, '--to', target, '--batch-size', '25', '--json']);
    expect(run.stderr).toMatch(/copy: 240\/240 \(100%\) events/);
    expect(run.code).toBe(0);
    expect(run.json()).toEqual([{ count: 240, copied: 240, skipped: 0, resumedFrom: 0, interrupted: false, verified: true }]);

    const [from, to] = [await readAll(source), await readAll(target)];
    expect(to).toHaveLength(240);
    expect(kept(to)).toEqual(kept(from));
    // Positions are the target's own, still increasing in the same order.
    for (let index = 1; index < to.length; index++) expect(to[index]!.position.isAfter(to[index - 1]!.position)).toBe(true);

    // The copy is a working store: appends continue the copied streams' revisions.
    const copied = await connectEventStore(target);
    const next = await copied.appendToStream('order-a', [{ id: randomUUID(), type: 'Changed', data: {} }], { expectedRevision: 59n });
    await copied.close();
    expect(next.revision).toBe(60n);
    // Copied events join the target's hash chain: the copy, and the append after it, verify.
    expect((await cli(['verify', '--store', target])).code).toBe(0);

    // Run again: nothing left to copy, and it still verifies.
    const again = await cli(['copy', '--from', source, '--to', target, '--json', '--no-verify']);
    expect(again.json()).toEqual([{ count: 240, copied: 0, skipped: 0, resumedFrom: 240, interrupted: false, verified: false }]);
  });

  it('resumes a copy whose process was killed mid-copy: all events once, same order', async () => {
    const source = `sqlite:${join(dir, 'big.db')}`;
    const store = await connectEventStore(source);
    await seed(store, 250, 10); // 10,000 events
    await store.close();
    const target = await postgresUrl();

    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/cli/main.ts', 'copy', '--from', source, '--to', target, '--batch-size', '50'], {
      cwd: ROOT,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = new Captured();
    child.stdout.pipe(output);
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolveExit) => child.once('exit', (_code, signal) => resolveExit(signal)));
    // Killed (no chance to clean up) once a tenth has been copied.
    await output.waitFor(/copy: ([1-9]\d{3})\/10000/, 60_000);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const partial = (await readAll(target)).length;
    expect(partial).toBeGreaterThanOrEqual(1_000);
    expect(partial).toBeLessThan(10_000);
    expect(partial % 50).toBe(0); // whole batches only: each one committed with its checkpoint

    const resumed = await cli(['copy', '--from', source, '--to', target, '--batch-size', '500']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`resumed after ${partial} events copied earlier`);
    expect(resumed.stdout).toContain(`copied ${10_000 - partial} events (10000 in all)`);
    expect(resumed.stdout).toContain('verified: the target holds the same events in the same order');

    const [from, to] = [await readAll(source), await readAll(target)];
    expect(new Set(to.map((event) => event.id)).size).toBe(10_000);
    expect(kept(to)).toEqual(kept(from));
  });

  it('exports to ndjson, stops at a batch boundary when interrupted, resumes, and imports the export back', async () => {
    const source = `sqlite:${join(dir, 'export-source.db')}`;
    const store = await connectEventStore(source);
    await seed(store, 50, 1);
    await store.close();
    const file = join(dir, 'export.ndjson');

    const controller = new AbortController();
    const first = startCli(['copy', '--from', source, '--to', `ndjson:${file}`, '--batch-size', '20'], { signal: controller.signal });
    await first.stdout.waitFor(/copy: [1-9]\d*\/200/);
    controller.abort();
    const stopped = await first.done;
    expect(stopped.code).toBe(2);
    expect(stopped.stdout).toMatch(/interrupted after (\d+) events; run the same command again to resume/);
    const stoppedAt = Number(/interrupted after (\d+)/.exec(stopped.stdout)![1]);
    expect(stoppedAt).toBeLessThan(200);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(stoppedAt + 1); // the header and whole batches

    // A crash mid-write leaves a torn line: resuming cuts it off.
    appendFileSync(file, '{"id":"torn');
    const resumed = await cli(['copy', '--from', source, '--to', `ndjson:${file}`, '--json']);
    expect(resumed.code).toBe(0);
    expect(resumed.json()).toEqual([{ count: 200, copied: 200 - stoppedAt, skipped: 0, resumedFrom: stoppedAt, interrupted: false, verified: true }]);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(201);
    expect(JSON.parse(lines[0]!)).toEqual({ eventfold: 'events', version: 1, source: `sqlite:${join(dir, 'export-source.db')}` });

    // A bad line in the middle is damage, not a crash: refused, and the file is left as it is.
    const damaged = join(dir, 'damaged.ndjson');
    const text = readFileSync(file, 'utf8').split('\n');
    text[5] = '{"id": broken';
    writeFileSync(damaged, text.join('\n'));
    const refused = await cli(['copy', '--from', source, '--to', `ndjson:${damaged}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('line 6 of');
    expect(readFileSync(damaged, 'utf8')).toBe(text.join('\n'));

    // Import the export into a fresh PostgreSQL store: the same events.
    const target = await postgresUrl();
    const imported = await cli(['copy', '--from', `ndjson:${file}`, '--to', target, '--json']);
    expect(imported.code).toBe(0);
    expect(imported.json()).toEqual([{ count: 200, copied: 200, skipped: 0, resumedFrom: 0, interrupted: false, verified: true }]);
    expect(kept(await readAll(target))).toEqual(kept(await readAll(source)));

    // Into SQLite too; both imports join their store's hash chain and verify.
    const sqliteTarget = `sqlite:${join(dir, 'imported.db')}`;
    expect((await cli(['copy', '--from', `ndjson:${file}`, '--to', sqliteTarget])).code).toBe(0);
    expect((await cli(['verify', '--store', sqliteTarget])).code).toBe(0);
    expect((await cli(['verify', '--store', target])).code).toBe(0);
  });

  it('refuses a target that holds other events where the copy belongs (exit 1, the batch not written)', async () => {
    const source = `sqlite:${join(dir, 'conflict-source.db')}`;
    const target = `sqlite:${join(dir, 'conflict-target.db')}`;
    const from = await connectEventStore(source);
    await seed(from, 3, 1);
    await from.close();
    const to = await connectEventStore(target);
    await to.appendToStream('customer-1', [{ id: randomUUID(), type: 'Other', data: {} }]);
    await to.close();

    const run = await cli(['copy', '--from', source, '--to', target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`the target's stream "customer-1" holds another event at revision 0`);
    expect(await readAll(target)).toHaveLength(1);
  });

  it('refuses a malformed export line with its line number (exit 2), writing nothing', async () => {
    const file = join(dir, 'bad.ndjson');
    appendFileSync(file, `${JSON.stringify({ eventfold: 'events', version: 1, source: 'x' })}\n`);
    appendFileSync(file, `${JSON.stringify({ id: randomUUID(), streamName: 'a-1', revision: '0', type: 'T', position: '1', data: {}, metadata: {}, recordedAt: '2026-01-01T00:00:00.000Z' })}\n`);
    appendFileSync(file, `${JSON.stringify({ id: randomUUID(), streamName: 'a-1', revision: '-1', type: 'T', position: '2', data: {}, metadata: {}, recordedAt: '2026-01-01T00:00:00.000Z' })}\n`);
    const target = `sqlite:${join(dir, 'bad-target.db')}`;
    const run = await cli(['copy', '--from', `ndjson:${file}`, '--to', target]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 3: revision must be a non-negative integer as a string');
    expect(await readAll(target)).toHaveLength(0);

    const same = await cli(['copy', '--from', target, '--to', target]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('--from and --to name the same place');
  });
});
