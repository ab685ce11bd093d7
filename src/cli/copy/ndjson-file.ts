import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ImportCheckpoint } from '../../event-store/store-admin';
import { CliExit, EXIT_USAGE } from '../exit-codes';
import { parseEventLine, type EventLine } from '../event-json';
import type { CopySource, CopyTarget, SourceEvent } from './copy-endpoint';

/** The first line of an export: what it is and where its events came from (so a resumed export is the same one). */
interface Header {
  readonly eventfold: 'events';
  readonly version: 1;
  readonly source: string;
}

function parseHeader(text: string, path: string): Header {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const header = value as Partial<Header> | undefined;
  if (!header || header.eventfold !== 'events' || header.version !== 1 || typeof header.source !== 'string') {
    throw new CliExit(EXIT_USAGE, `${path} is not an eventfold export (its first line must be {"eventfold":"events","version":1,"source":…})`);
  }
  return header as Header;
}

/** Lines of a file, each with its number (1-based). Reads in chunks; a line never loads more than itself. */
async function* lines(path: string): AsyncIterable<{ text: string; number: number }> {
  const reader = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const text of reader) {
      number++;
      if (text.length > 0) yield { text, number };
    }
  } finally {
    reader.close();
  }
}

/** An export file as the source of a copy: events in the order they were exported. */
export function ndjsonSource(path: string): CopySource {
  if (!existsSync(path)) throw new CliExit(EXIT_USAGE, `no export file at ${path}`);
  return {
    key: `ndjson:${path}`,
    async count() {
      let count = -1;
      for await (const _line of lines(path)) count++;
      return Math.max(0, count);
    },
    async *read(checkpoint) {
      // An export has no index: resuming skips the events already copied, by count.
      const skip = checkpoint?.count ?? 0;
      let seen = 0;
      let header = false;
      for await (const { text, number } of lines(path)) {
        if (!header) {
          parseHeader(text, path);
          header = true;
          continue;
        }
        seen++;
        if (seen <= skip) continue;
        yield parseEventLine(text, number);
      }
      if (!header) throw new CliExit(EXIT_USAGE, `${path} is empty: not an eventfold export`);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * An export file as the target of a copy. Each batch is appended and synced before the next is read,
 * so after a crash the file holds whole batches, and at most one torn last line, which is cut off when
 * the copy resumes. The checkpoint is the file itself: its last complete line.
 */
export function ndjsonTarget(path: string): CopyTarget {
  let fd: number | undefined;
  const open = (): number => (fd ??= openSync(path, 'a+'));
  return {
    key: `ndjson:${path}`,
    async checkpoint(source: string): Promise<ImportCheckpoint | undefined> {
      if (!existsSync(path)) return undefined;
      let header: Header | undefined;
      let count = 0;
      let last: EventLine | undefined;
      let lastNumber = 0;
      let torn: number | undefined;
      for await (const { text, number } of lines(path)) {
        if (!header) {
          header = parseHeader(text, path);
          lastNumber = number;
          continue;
        }
        // Only the last line can be torn (a crash mid-write), and the cut below removes it; a bad line
        // with more after it means the file was damaged, and nothing is cut.
        if (torn !== undefined) throw new CliExit(EXIT_USAGE, `line ${torn} of ${path} is not JSON: the export is damaged`);
        try {
          last = JSON.parse(text) as EventLine;
          count++;
          lastNumber = number;
        } catch {
          torn = number;
        }
      }
      if (!header) return undefined;
      if (header.source !== source) {
        throw new CliExit(EXIT_USAGE, `${path} holds an export of ${header.source}, not of ${source}: give another file`);
      }
      cutAfterLine(open(), lastNumber);
      return last ? { source, position: last.position, count } : undefined;
    },
    write(batch: readonly SourceEvent[], checkpoint: ImportCheckpoint) {
      const descriptor = open();
      if (fstatSync(descriptor).size === 0) {
        const header: Header = { eventfold: 'events', version: 1, source: checkpoint.source };
        writeSync(descriptor, `${JSON.stringify(header)}\n`);
      }
      const text = batch.map((event) => `${JSON.stringify(toLine(event))}\n`).join('');
      writeSync(descriptor, text);
      fsyncSync(descriptor);
      return Promise.resolve({ imported: batch.length, skipped: 0 });
    },
    async *read() {
      let header = false;
      for await (const { text, number } of lines(path)) {
        if (!header) {
          header = true;
          continue;
        }
        yield parseEventLine(text, number);
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      return Promise.resolve();
    },
  };
}

function toLine(event: SourceEvent): EventLine {
  return {
    id: event.id,
    streamName: event.streamName,
    revision: event.revision.toString(),
    type: event.type,
    position: event.position,
    data: event.data,
    metadata: event.metadata,
    recordedAt: event.recordedAt.toISOString(),
  };
}

/** Truncates the file right after its `lineCount`-th newline (a torn last line goes). Reads it in chunks. */
function cutAfterLine(fd: number, lineCount: number): void {
  const size = fstatSync(fd).size;
  const chunk = Buffer.alloc(64 * 1024);
  let offset = 0;
  let newlines = 0;
  while (offset < size) {
    const read = readSync(fd, chunk, 0, chunk.length, offset);
    if (read <= 0) break;
    for (let index = 0; index < read; index++) {
      if (chunk[index] === 0x0a && ++newlines === lineCount) {
        const end = offset + index + 1;
        if (end < size) ftruncateSync(fd, end);
        return;
      }
    }
    offset += read;
  }
  // The last line is whole but lacks its newline (the crash came between the two): add it.
  if (size > 0) writeSync(fd, '\n');
}
