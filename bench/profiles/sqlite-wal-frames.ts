// Profiling aid for bench/profiles/sqlite.md (not a suite): WAL frames (pages) written per commit by
// eventfold, the naive store of the peers suite and the raw driver of the store suite, on SQLite.
// Run: node -r @swc-node/register bench/profiles/sqlite-wal-frames.ts
// A frame is one page (+ 24 bytes) appended to the -wal file; `PRAGMA wal_checkpoint(PASSIVE)` returns
// how many the log holds. The log is emptied first and each measurement stays under the 1,000 frames
// at which SQLite checkpoints by itself (which would start the count again).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { naiveSqlite } from '../suites/peers-naive';
import { rawSqlite } from '../suites/store-raw';

const payload = { orderId: 'o-123', customerId: 'c-456', items: [{ menuItemId: 'm-1', quantity: 2 }], total: 25.5 };

function checkpoint(path: string, mode: 'PASSIVE' | 'TRUNCATE'): number {
  const db = new Database(path);
  try {
    const [row] = db.pragma(`wal_checkpoint(${mode})`) as Array<{ log: number }>;
    return row!.log;
  } finally {
    db.close();
  }
}

type Append = (streamName: string, count: number) => Promise<unknown>;

interface Side {
  readonly append: Append;
  close(): Promise<void>;
}

function openSide(name: string, path: string): Side {
  const events = (count: number) => Array.from({ length: count }, () => ({ id: randomUUID(), type: 'OrderPlaced', data: payload }));
  if (name === 'eventfold') {
    const store = SqliteEventStore.open(path);
    return { append: (streamName, count) => store.appendToStream(streamName, events(count)), close: () => store.close() };
  }
  if (name === 'naive') {
    const naive = naiveSqlite(path);
    return { append: (streamName, count) => naive.append(streamName, events(count)), close: () => naive.close() };
  }
  const raw = rawSqlite(path);
  return { append: (streamName, count) => raw.append(streamName, events(count)), close: () => raw.close() };
}

const SHAPES = [
  // 1 writer, single events on 100 streams: one commit per append on every side.
  { name: '1w', writers: 1, perAppend: 1, warmCommits: 3_000, commits: 110, stream: (_writer: number, i: number) => `s-${i % 100}` },
  // 1 writer, batches of 100 on new streams.
  { name: 'batch100', writers: 1, perAppend: 100, warmCommits: 100, commits: 8, stream: (_writer: number, i: number) => `b-${i}` },
  // 16 writers, single events: eventfold commits a group of 16 appends; naive and raw commit each append.
  { name: '16w', writers: 16, perAppend: 1, warmCommits: 200, commits: 8, stream: (writer: number, i: number) => `w${writer}-${i % 50}` },
];

async function main(): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), 'eventfold-wal-frames-'));
  try {
    for (const shape of SHAPES) {
      for (const name of ['eventfold', 'naive', 'raw']) {
        const path = join(folder, `${name}-${shape.name}.db`);
        const side = openSide(name, path);
        const round = (from: number, rounds: number) =>
          (async () => {
            for (let i = from; i < from + rounds; i++) {
              await Promise.all(Array.from({ length: shape.writers }, (_, writer) => side.append(shape.stream(writer, i), shape.perAppend)));
            }
          })();
        await round(0, shape.warmCommits);
        checkpoint(path, 'TRUNCATE');
        await round(shape.warmCommits, shape.commits);
        const frames = checkpoint(path, 'PASSIVE');
        const appends = shape.commits * shape.writers;
        console.log(
          `${shape.name.padEnd(9)} ${name.padEnd(10)} ${(frames / appends).toFixed(2).padStart(7)} frames per append, ${(frames / (appends * shape.perAppend)).toFixed(2)} per event` +
            (frames >= 1_000 ? ' (over 1,000: SQLite checkpointed during the count, figure too low)' : ''),
        );
        await side.close();
      }
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

void main();
