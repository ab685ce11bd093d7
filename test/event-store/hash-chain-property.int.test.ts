import Database from 'better-sqlite3';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEventStore } from '../../src/backends/sqlite';
import { verifyStore, type EventData } from '../../src/event-store';

const folder = mkdtempSync(join(tmpdir(), 'eventfold-chain-property-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;

const appendArbitrary = fc.record({
  stream: fc.integer({ min: 0, max: 3 }),
  events: fc.array(
    fc.record({
      type: fc.constantFrom('Placed', 'Paid', 'Shipped'),
      data: fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), fc.string({ maxLength: 12 }), fc.boolean(), fc.constant(null)), { maxKeys: 3 }),
      user: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

/** One change made directly in the file: `pick` chooses which event or how many (modulo what exists). */
const tamperArbitrary = fc.record({
  kind: fc.constantFrom('data', 'metadata', 'type', 'delete', 'swap-ids', 'delete-stream', 'truncate', 'batch-hash', 'move'),
  pick: fc.nat(),
  other: fc.nat(),
});

type Tamper = { kind: string; pick: number; other: number };

function tamper(file: string, { kind, pick, other }: Tamper): void {
  const db = new Database(file);
  try {
    const positions = (db.prepare('SELECT position FROM eventfold_events ORDER BY position').all() as Array<{ position: number }>).map((row) => row.position);
    const at = positions[pick % positions.length]!;
    const second = positions[(pick + 1 + (other % Math.max(1, positions.length - 1))) % positions.length]!;
    switch (kind) {
      case 'data':
        db.prepare(`UPDATE eventfold_events SET data = json_object('tampered', ?) WHERE position = ?`).run(other, at);
        break;
      case 'metadata':
        db.prepare(`UPDATE eventfold_events SET metadata = json_object('userId', 'mallory', 'n', ?) WHERE position = ?`).run(other, at);
        break;
      case 'type':
        db.prepare(`UPDATE eventfold_events SET type = type || 'X' WHERE position = ?`).run(at);
        break;
      case 'delete':
        db.prepare('DELETE FROM eventfold_events WHERE position = ?').run(at);
        break;
      case 'swap-ids': {
        if (positions.length < 2) {
          db.prepare(`UPDATE eventfold_events SET event_id = ? WHERE position = ?`).run(randomUUID(), at);
          break;
        }
        const ids = db.prepare('SELECT event_id FROM eventfold_events WHERE position IN (?, ?) ORDER BY position').all(at, second) as Array<{ event_id: string }>;
        const [first, last] = at < second ? [ids[0]!, ids[1]!] : [ids[1]!, ids[0]!];
        db.prepare(`UPDATE eventfold_events SET event_id = 'swap' WHERE position = ?`).run(second);
        db.prepare(`UPDATE eventfold_events SET event_id = ? WHERE position = ?`).run(last.event_id, at);
        db.prepare(`UPDATE eventfold_events SET event_id = ? WHERE position = ?`).run(first.event_id, second);
        break;
      }
      case 'delete-stream': {
        const { stream_name } = db.prepare('SELECT stream_name FROM eventfold_events WHERE position = ?').get(at) as { stream_name: string };
        db.prepare('DELETE FROM eventfold_events WHERE stream_name = ?').run(stream_name);
        db.prepare('DELETE FROM eventfold_streams WHERE stream_name = ?').run(stream_name);
        break;
      }
      case 'truncate':
        db.prepare('DELETE FROM eventfold_events WHERE position >= ?').run(at);
        break;
      case 'batch-hash':
        db.prepare(`UPDATE eventfold_chain SET hash = randomblob(32) WHERE batch = (SELECT batch FROM eventfold_chain ORDER BY batch LIMIT 1 OFFSET ?)`).run(
          pick % (db.prepare('SELECT count(*) AS count FROM eventfold_chain').get() as { count: number }).count,
        );
        break;
      case 'move': {
        // The event keeps everything but moves to another stream, at that stream's next revision.
        db.prepare(`UPDATE eventfold_events SET stream_name = 'elsewhere-' || stream_name, revision = 0 WHERE position = ?`).run(at);
        break;
      }
      default:
        throw new Error(`unknown tamper ${kind}`);
    }
  } finally {
    db.close();
  }
}

describe('the hash chain, property-based (SQLite files)', () => {
  it('random appends always verify; any single change made in the file afterwards never does', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(appendArbitrary, { minLength: 1, maxLength: 10 }), tamperArbitrary, async (appends, change) => {
        const file = join(folder, `store-${files++}.db`);
        const store = SqliteEventStore.open(file);
        // Appends issued together share group commits, as in production.
        await Promise.all(
          appends.map((append) =>
            store.appendToStream(
              `stream-${append.stream}`,
              append.events.map((event): EventData => ({ id: randomUUID(), type: event.type, data: event.data, metadata: event.user === undefined ? {} : { userId: event.user } })),
            ),
          ),
        );
        const intact = await verifyStore(store);
        await store.close();
        if (!intact.ok) throw new Error(`an untouched store failed: ${intact.breaks.map((found) => found.message).join('; ')}`);
        tamper(file, change);
        const reopened = SqliteEventStore.open(file);
        try {
          const report = await verifyStore(reopened);
          if (report.ok) throw new Error(`the change ${JSON.stringify(change)} went unnoticed`);
          if (report.breaks.some((found) => found.message.length === 0)) throw new Error('a break without a message');
        } finally {
          await reopened.close();
          rmSync(file, { force: true });
        }
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
