import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { archiveStreamsToFile, openArchive, verifyStore, type ChainBreak, type EventStore } from '../../src/event-store';
import type { Dialect } from './tamper-scenarios';
import { writeHistory } from './tamper-scenarios';

/**
 * The tampering history with `order-1` (3 events) archived to `<folder>/order-1.ndjson.gz`: its rows are
 * stubs now. Returns the archive's path.
 */
export async function writeArchivedHistory(store: EventStore, folder: string): Promise<string> {
  await writeHistory(store);
  const path = join(folder, `order-1-${randomUUID().slice(0, 8)}.ndjson.gz`);
  await archiveStreamsToFile(store, { streams: ['order-1'] }, path);
  return path;
}

export interface ArchiveTamperScenario {
  readonly name: string;
  readonly sql: Readonly<Record<Dialect, readonly string[]>>;
  readonly expected: (found: ChainBreak) => boolean;
}

const both = (...statements: string[]): Record<Dialect, readonly string[]> => ({ sqlite: statements, postgres: statements });
const at = (streamName: string, revision: bigint) => (found: ChainBreak) => found.streamName === streamName && found.revision === revision;

/** Changes to archived events' stubs (and to the archiving's record) made in the database, each with the break `verify` names without the archive. */
export const ARCHIVE_TAMPER_SCENARIOS: readonly ArchiveTamperScenario[] = [
  {
    name: "a stub's hash edited",
    sql: {
      sqlite: [`UPDATE eventfold_events SET hash = zeroblob(32) WHERE stream_name = 'order-1' AND revision = 1`],
      postgres: [`UPDATE eventfold_events SET hash = decode(repeat('00', 32), 'hex') WHERE stream_name = 'order-1' AND revision = 1`],
    },
    expected: (found) => found.kind === 'batch-altered' && at('order-1', 1n)(found),
  },
  {
    name: 'a stub deleted',
    sql: both(`DELETE FROM eventfold_events WHERE stream_name = 'order-1' AND revision = 1`),
    expected: (found) => found.kind === 'event-missing' && at('order-1', 1n)(found),
  },
  {
    name: 'every stub of the archived stream deleted',
    sql: both(`DELETE FROM eventfold_events WHERE stream_name = 'order-1'`),
    expected: (found) => found.kind === 'batch-altered' && found.message.includes('was committed with'),
  },
  {
    name: "a live event's payload removed and passed off as archived",
    sql: both(
      `UPDATE eventfold_events SET data = '', metadata = '', archived = (SELECT max(sequence) FROM eventfold_lifecycle)
       WHERE stream_name = 'order-3' AND revision = 0`,
    ),
    expected: (found) => found.kind === 'archive-unrecorded' && at('order-3', 0n)(found),
  },
  {
    name: 'a stub unmarked (passed off as a live event with empty content)',
    sql: both(`UPDATE eventfold_events SET archived = NULL WHERE stream_name = 'order-1' AND revision = 0`),
    expected: (found) => found.kind === 'event-altered' && at('order-1', 0n)(found),
  },
  {
    name: "the archiving's lifecycle record edited",
    sql: both(`UPDATE eventfold_lifecycle SET metadata = replace(metadata, '"archivedBefore":"3"', '"archivedBefore":"1"') WHERE action = 'archive'`),
    expected: (found) => found.kind === 'lifecycle-altered' && found.streamName === 'order-1',
  },
];

/**
 * The archive file itself: intact it checks every archived event; an event edited in it (same file name)
 * is named, and so is the SHA-256 that no longer matches the record; without the file, verify says which.
 */
export async function expectArchiveFileChecked(store: EventStore, path: string): Promise<void> {
  const archive = openArchive(readFileSync(path), path.split('/').pop());
  expect(await verifyStore(store, { archives: [archive] })).toMatchObject({ ok: true, eventsArchived: 3, archivedChecked: 3 });
  const missing = await verifyStore(store, { archives: [] });
  expect(missing.breaks).toEqual([expect.objectContaining({ kind: 'archive-missing', streamName: 'order-1' })]);
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const edited = text.replace('{\\"carrier\\":\\"dhl\\"}', '{\\"carrier\\":\\"ups\\"}');
  expect(edited).not.toBe(text);
  writeFileSync(path, gzipSync(edited));
  const report = await verifyStore(store, { archives: [openArchive(readFileSync(path), path.split('/').pop())] });
  expect(report.ok).toBe(false);
  expect(report.breaks.map((found) => [found.kind, found.streamName, found.revision])).toEqual([
    ['archive-altered', 'order-1', undefined],
    ['archive-altered', 'order-1', 2n],
  ]);
}

/** A stream of `count` events of about 2 KB of random (incompressible) data each, as a store stores it. */
export function bulkyEvents(count: number): { id: string; type: string; data: { blob: string } }[] {
  return Array.from({ length: count }, () => ({ id: randomUUID(), type: 'Bulky', data: { blob: randomBytes(1_500).toString('base64') } }));
}
