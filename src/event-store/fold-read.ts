import type {
  EventMetadata,
  EventStoreReader,
  FoldEvent,
  JsonObject,
  JsonValue,
  ReadStreamForFoldOptions,
  RecordedEvent,
  StreamFoldPage,
} from './event-store';
import { validateFoldOptions } from './validation';

/** Events per page when a fold read falls back to `readStream`. */
const FALLBACK_PAGE_SIZE = 1_000;

/**
 * Reads a stream for a fold: with the reader's own `readStreamForFold` when it has one, else from
 * `readStream` (the same pages, built from full events).
 *
 * @example
 * for await (const page of readStreamForFold(store, 'cart-1', { fromRevision: 10n, metadataKeys: ['schemaVersion'] })) {
 *   for (const event of page.events) state = evolve(state, event);
 *   revision = page.last.revision;
 * }
 */
export function readStreamForFold(
  reader: EventStoreReader,
  streamName: string,
  options: ReadStreamForFoldOptions = {},
): AsyncIterable<StreamFoldPage> {
  if (reader.readStreamForFold) return reader.readStreamForFold(streamName, options);
  return foldPagesFromReadStream(reader, streamName, options);
}

/** `readStreamForFold` built on `readStream`: for readers without a leaner way. */
export function foldPagesFromReadStream(
  reader: Pick<EventStoreReader, 'readStream'>,
  streamName: string,
  options: ReadStreamForFoldOptions = {},
): AsyncIterable<StreamFoldPage> {
  const { from, metadataKeys } = validateFoldOptions(options);
  const events = reader.readStream(streamName, { fromRevision: from });
  return {
    async *[Symbol.asyncIterator]() {
      let page: FoldEvent[] = [];
      let first: RecordedEvent | undefined;
      let last: RecordedEvent | undefined;
      for await (const event of events) {
        first ??= event;
        last = event;
        page.push(leanEvent(event, metadataKeys));
        if (page.length === FALLBACK_PAGE_SIZE) {
          yield { fromRevision: first.revision, events: page, last };
          page = [];
          first = undefined;
        }
      }
      if (first && last) yield { fromRevision: first.revision, events: page, last };
    },
  };
}

/** A full event as a {@link FoldEvent} with only `metadataKeys` in its metadata. */
export function leanEvent(event: RecordedEvent, metadataKeys: readonly string[]): FoldEvent {
  return { type: event.type, data: event.data, metadata: pickKeys(event.metadata, metadataKeys) };
}

function pickKeys(metadata: EventMetadata, keys: readonly string[]): EventMetadata {
  const picked: JsonObject = {};
  for (const key of keys) {
    if (Object.prototype.hasOwnProperty.call(metadata, key)) picked[key] = metadata[key]!;
  }
  return picked;
}

/**
 * Picks top-level keys out of stored metadata JSON, without parsing all of it when that is safe.
 *
 * The fast path takes text with no backslash (so no escapes: every `"` delimits a string, and a key
 * appears literally as `"key"`) and no `{` or `[` after the first character (a flat object, so every key
 * is top level). A key that is not found there is absent; a key found once, followed by `:`, has the
 * value after it (a string up to the next `"`, else a number or literal up to the next `,` or `}`).
 * Anything else — escapes, nesting, a key seen twice, a key-like string value — is parsed in full.
 *
 * @example
 * const pick = metadataPicker(['schemaVersion', 'commandId']);
 * pick('{"commandId":"c-1","schemaVersion":2,"time":"…"}'); // { commandId: 'c-1', schemaVersion: 2 }
 */
export function metadataPicker(keys: readonly string[]): (text: string) => EventMetadata {
  const quoted = keys.map((key) => JSON.stringify(key));
  // A key that JSON escapes cannot be found literally: such keys always take the full parse.
  const literal = keys.every((key, index) => quoted[index] === `"${key}"`);
  const slow = (text: string): EventMetadata => pickKeys(JSON.parse(text) as EventMetadata, keys);
  if (keys.length === 0) return () => ({});
  return (text) => {
    if (text === '{}') return {};
    if (!literal || text.charCodeAt(0) !== 123 || text.includes('\\') || text.indexOf('{', 1) !== -1 || text.includes('[')) {
      return slow(text);
    }
    const picked: JsonObject = {};
    for (let index = 0; index < keys.length; index++) {
      const needle = quoted[index]!;
      const at = text.indexOf(needle);
      if (at === -1) continue;
      if (text.indexOf(needle, at + needle.length) !== -1) return slow(text);
      let cursor = skipSpace(text, at + needle.length);
      if (text.charCodeAt(cursor) !== 58) return slow(text); // not a key: a string value equal to it
      cursor = skipSpace(text, cursor + 1);
      let value: JsonValue;
      if (text.charCodeAt(cursor) === 34) {
        const end = text.indexOf('"', cursor + 1);
        if (end === -1) return slow(text);
        value = text.slice(cursor + 1, end);
      } else {
        let end = cursor;
        while (end < text.length && text.charCodeAt(end) !== 44 && text.charCodeAt(end) !== 125) end++;
        try {
          value = JSON.parse(text.slice(cursor, end)) as JsonValue;
        } catch {
          return slow(text);
        }
      }
      picked[keys[index]!] = value;
    }
    return picked;
  };
}

function skipSpace(text: string, from: number): number {
  let cursor = from;
  for (;;) {
    const code = text.charCodeAt(cursor);
    if (code !== 32 && code !== 9 && code !== 10 && code !== 13) return cursor;
    cursor++;
  }
}
