import { PassThrough } from 'node:stream';
import {
  WrongExpectedVersionError,
  type AllStreamResolvedEvent,
  type AppendExpectedRevision,
  type AppendResult,
  type AppendToStreamOptions,
  type DeleteResult,
  type EventData,
  type EventStoreDBClient,
  type EventType,
  type GetStreamMetadataResult,
  type ReadAllOptions,
  type ReadStreamOptions,
  type ResolvedEvent,
  type StreamMetadata,
  type StreamingRead,
} from '@eventstore/db-client';
import { ReadStream as ClientReadStream } from '@eventstore/db-client/dist/streams/utils/ReadStream';
import { convertGrpcEvent } from '@eventstore/db-client/dist/utils/convertGrpcEvent';
import { StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { ReadResp } from '@eventstore/db-client/generated/streams_pb';

/**
 * A MOCK of an EventStoreDB server, in process. No EventStoreDB/KurrentDB server can be obtained on this
 * machine (it is on neither npm nor Debian, and there is no Docker), so the adapter's hash chain is tested
 * here against this stand-in; the real suite (event-store.int.test.ts) runs the same cases when
 * `EVENTSTORE_URL` names a server.
 *
 * It plays the small part of the server the adapter uses, through the types of the real client:
 * - `appendToStream` with ESDB's expected-revision rules: an exact revision equal to the stream's last one
 *   writes without looking at ids; an older one is an idempotent success when the events after it carry
 *   the same ids, else WrongExpectedVersion; `no_stream` also accepts a soft-deleted stream, whose
 *   revisions keep counting; `any` deduplicates by ids found in the stream.
 * - `readStream` forwards and backwards (StreamNotFound for a stream with no visible event), honouring
 *   `truncateBefore` and `maxCount` as the server does; `readAll` over every stored event.
 * - `getStreamMetadata`, `setStreamMetadata`, `deleteStream` (soft: `truncateBefore` is long.MaxValue until
 *   the stream is written again, then the first revision written after the delete).
 * Events are stored as the server stores them: bytes of data and metadata, a type, a content type. Reads
 * hand real protobuf `ReadResp` messages to the client's own ReadStream transform and record conversion,
 * so the adapter sees exactly what the client would decode from a server holding those bytes.
 *
 * The tampering helpers change that storage behind the adapter's back, as someone editing the server's
 * files would.
 */

export interface StoredRecord {
  streamName: string;
  revision: bigint;
  id: string;
  type: string;
  contentType: string;
  data: Buffer;
  metadata: Buffer;
  created: bigint;
  position: bigint;
}

/** The server's `$tb` of a soft-deleted stream, long.MaxValue. */
const DELETED_STREAM = 9_223_372_036_854_775_807n;

interface StreamSettings {
  truncateBefore?: number;
  maxCount?: number;
}

export class FakeEsdbServer {
  /** Every stored event, in `$all` order. */
  readonly log: StoredRecord[] = [];
  private readonly settings = new Map<string, StreamSettings>();
  private nextPosition = 100n;
  /** Appends the server received (accepted or refused). */
  appendCalls = 0;
  /** Runs when an append arrives, before it is checked: lets a test make another writer win a race. */
  beforeAppend: ((streamName: string) => Promise<void> | void) | undefined;

  /** The client surface the adapter uses, typed by the real client. */
  client(): EventStoreDBClient {
    const surface: Pick<EventStoreDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'getStreamMetadata' | 'setStreamMetadata' | 'deleteStream' | 'dispose'> = {
      appendToStream: <Known extends EventType = EventType>(streamName: string, events: EventData<Known> | EventData<Known>[], options?: AppendToStreamOptions) =>
        this.append(streamName, Array.isArray(events) ? events : [events], options?.expectedRevision ?? 'any'),
      readStream: <Known extends EventType = EventType>(streamName: string, options?: ReadStreamOptions) =>
        this.respond(this.streamRead(streamName, options ?? {})) as StreamingRead<ResolvedEvent<Known>>,
      readAll: (options?: ReadAllOptions) => this.respond(this.allRead(options ?? {})) as StreamingRead<AllStreamResolvedEvent>,
      getStreamMetadata: async <Custom extends Record<string, unknown>>(streamName: string) => {
        await Promise.resolve();
        const settings = this.settings.get(streamName);
        return (settings ? { streamName, metadata: { ...settings } } : { streamName }) as GetStreamMetadataResult<Custom>;
      },
      setStreamMetadata: async (streamName: string, metadata: StreamMetadata) => {
        await Promise.resolve();
        this.settings.set(streamName, {
          ...(metadata.truncateBefore !== undefined ? { truncateBefore: Number(metadata.truncateBefore) } : {}),
          ...(metadata.maxCount !== undefined ? { maxCount: metadata.maxCount } : {}),
        });
        return { success: true, nextExpectedRevision: 0n, position: { commit: this.nextPosition, prepare: this.nextPosition } };
      },
      deleteStream: async (streamName: string): Promise<DeleteResult> => {
        await Promise.resolve();
        // As the server does: `$tb` becomes long.MaxValue (a JSON number the client reads as a double) until
        // the stream is written again, when it becomes the first new revision.
        this.settings.set(streamName, { ...this.settings.get(streamName), truncateBefore: Number(DELETED_STREAM) });
        return { position: { commit: this.nextPosition, prepare: this.nextPosition } };
      },
      dispose: () => Promise.resolve(),
    };
    // Only the methods above exist: a call to any other fails loudly instead of doing nothing.
    return surface as EventStoreDBClient;
  }

  /** The stream's events in storage, in revision order (hidden ones included). */
  stored(streamName: string): StoredRecord[] {
    return this.log.filter((record) => record.streamName === streamName).sort((a, b) => (a.revision < b.revision ? -1 : 1));
  }

  /** One stored event (tampering: change its fields or bytes in place). */
  record(streamName: string, revision: bigint): StoredRecord {
    const found = this.log.find((record) => record.streamName === streamName && record.revision === revision);
    if (!found) throw new Error(`no stored event ${streamName}@${revision}`);
    return found;
  }

  /** Tampering: removes an event from storage. */
  remove(streamName: string, revision: bigint): void {
    this.log.splice(this.log.indexOf(this.record(streamName, revision)), 1);
  }

  /** Tampering: swaps the contents of two events of a stream, each keeping its revision and position. */
  swap(streamName: string, first: bigint, second: bigint): void {
    const a = this.record(streamName, first);
    const b = this.record(streamName, second);
    for (const key of ['id', 'type', 'contentType', 'data', 'metadata', 'created'] as const) {
      const kept = a[key];
      (a as unknown as Record<string, unknown>)[key] = b[key];
      (b as unknown as Record<string, unknown>)[key] = kept;
    }
  }

  lastRevision(streamName: string): bigint {
    let last = -1n;
    for (const record of this.log) if (record.streamName === streamName && record.revision > last) last = record.revision;
    return last;
  }

  private visible(streamName: string): StoredRecord[] {
    const settings = this.settings.get(streamName) ?? {};
    let events = this.stored(streamName).filter((record) => settings.truncateBefore === undefined || record.revision >= BigInt(settings.truncateBefore));
    if (settings.maxCount !== undefined) events = events.slice(Math.max(0, events.length - settings.maxCount));
    return events;
  }

  private async append(streamName: string, events: readonly EventData[], expected: AppendExpectedRevision): Promise<AppendResult> {
    this.appendCalls++;
    await this.beforeAppend?.(streamName);
    const current = this.lastRevision(streamName);
    const deleted = current >= 0n && this.visible(streamName).length === 0 && this.settings.get(streamName)?.truncateBefore !== undefined;
    const refuse = () => new WrongExpectedVersionError(undefined, { streamName, expected, current: current < 0n ? 'no_stream' : current });
    const repeated = (from: bigint): AppendResult | undefined => {
      const stored = this.stored(streamName).filter((record) => record.revision >= from).slice(0, events.length);
      if (stored.length !== events.length || stored.some((record, index) => record.id !== events[index]!.id)) return undefined;
      const last = stored[stored.length - 1]!;
      return { success: true, nextExpectedRevision: last.revision, position: { commit: last.position, prepare: last.position } };
    };
    if (expected === 'any') {
      const first = this.stored(streamName).find((record) => record.id === events[0]!.id);
      const earlier = first && repeated(first.revision);
      if (earlier) return earlier;
    } else if (expected === 'no_stream') {
      if (current >= 0n && !deleted) {
        const earlier = repeated(0n);
        if (earlier) return earlier;
        throw refuse();
      }
    } else if (expected === 'stream_exists') {
      if (current < 0n || deleted) throw refuse();
    } else if (expected < current) {
      const earlier = repeated(expected + 1n);
      if (earlier) return earlier;
      throw refuse();
    } else if (expected > current) {
      throw refuse();
    }
    let revision = current;
    if (deleted) this.settings.set(streamName, { ...this.settings.get(streamName), truncateBefore: Number(current + 1n) });
    for (const event of events) {
      revision++;
      this.nextPosition += 10n;
      this.log.push({
        streamName,
        revision,
        id: event.id,
        type: event.type,
        contentType: event.contentType,
        // As the client encodes them (append.js): JSON content stringified, metadata stringified unless bytes.
        data: event.contentType === 'application/json' ? Buffer.from(JSON.stringify(event.data), 'utf8') : Buffer.from(event.data),
        metadata: event.metadata === undefined ? Buffer.alloc(0) : event.metadata instanceof Uint8Array ? Buffer.from(event.metadata) : Buffer.from(JSON.stringify(event.metadata), 'utf8'),
        created: BigInt(Date.now()) * 10_000n,
        position: this.nextPosition,
      });
    }
    return { success: true, nextExpectedRevision: revision, position: { commit: this.nextPosition, prepare: this.nextPosition } };
  }

  private streamRead(streamName: string, options: ReadStreamOptions): ReadResp[] {
    const events = this.visible(streamName);
    if (events.length === 0) {
      const notFound = new ReadResp.StreamNotFound().setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(streamName)));
      return [new ReadResp().setStreamNotFound(notFound)];
    }
    const backwards = options.direction === 'backwards';
    const from = options.fromRevision ?? (backwards ? 'end' : 'start');
    const selected = backwards
      ? events.filter((record) => from === 'end' || (from !== 'start' && record.revision <= from)).reverse()
      : events.filter((record) => from === 'start' || (from !== 'end' && record.revision >= from));
    return selected.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER)).map(toReadResp);
  }

  private allRead(options: ReadAllOptions): ReadResp[] {
    const backwards = options.direction === 'backwards';
    const from = options.fromPosition ?? (backwards ? 'end' : 'start');
    const ordered = backwards ? [...this.log].reverse() : this.log;
    const selected = ordered.filter((record) =>
      typeof from === 'string' ? true : backwards ? record.position <= from.commit : record.position >= from.commit,
    );
    return selected.slice(0, Number(options.maxCount ?? Number.MAX_SAFE_INTEGER)).map(toReadResp);
  }

  /** The server's answer, played into the client's own read transform on a later tick, as over gRPC. */
  private respond(responses: readonly ReadResp[]): StreamingRead<unknown> {
    const grpc = Object.assign(new PassThrough({ objectMode: true }), { cancel: () => undefined });
    const read = new ClientReadStream(() => Promise.resolve(grpc as never), convertGrpcEvent, {});
    setImmediate(() => {
      for (const response of responses) grpc.write(response);
      grpc.end();
    });
    return read;
  }
}

function toReadResp(stored: StoredRecord): ReadResp {
  const record = new ReadResp.ReadEvent.RecordedEvent();
  record.setId(new UUID().setString(stored.id));
  record.setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(stored.streamName)));
  record.setStreamRevision(stored.revision.toString());
  record.setCommitPosition(stored.position.toString());
  record.setPreparePosition(stored.position.toString());
  record.getMetadataMap().set('type', stored.type);
  record.getMetadataMap().set('content-type', stored.contentType);
  record.getMetadataMap().set('created', stored.created.toString());
  record.setData(stored.data);
  record.setCustomMetadata(stored.metadata);
  const readEvent = new ReadResp.ReadEvent();
  readEvent.setEvent(record);
  return new ReadResp().setEvent(readEvent);
}
