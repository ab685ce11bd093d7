import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { AllStreamResolvedEvent, RecordedEvent as EsdbRecordedEvent } from '@eventstore/db-client';
import { ReadStream as ClientReadStream } from '@eventstore/db-client/dist/streams/utils/ReadStream';
import { Subscription as ClientSubscription } from '@eventstore/db-client/dist/streams/utils/Subscription';
import { convertGrpcEvent, convertGrpcRecord } from '@eventstore/db-client/dist/utils/convertGrpcEvent';
import { StreamIdentifier, UUID } from '@eventstore/db-client/generated/shared_pb';
import { ReadResp } from '@eventstore/db-client/generated/streams_pb';
import { ABORTED, ClientStream } from '../../../src/backends/eventstoredb/eventstoredb-client-stream';
import { StoreUnavailableError } from '../../../src/event-store/errors';
import type { EventFilter, SubscriptionMessage } from '../../../src/event-store/event-store';
import {
  CHAIN_METADATA_KEY,
  escapeRegex,
  exactNamesRegex,
  isSystemEvent,
  MATCH_NOTHING,
  NON_SYSTEM_TYPES,
  redactConnectionString,
  toEsdbEventData,
  toEsdbExpectedRevision,
  toEsdbFilterSpec,
  toEsdbPosition,
  toEsdbReadPosition,
  toJsonValue,
  toMetadata,
  toPosition,
  toRecordedEvent,
  toRevision,
} from '../../../src/backends/eventstoredb/eventstoredb-mapping';
import {
  allStreamSteps,
  EventStoreDbSubscription,
  markCheckpoint,
  streamSteps,
  watchSubscription,
  type SubscriptionSteps,
} from '../../../src/backends/eventstoredb/eventstoredb-subscription';
import { Position } from '../../../src/event-store/position';
import { DEFAULT_LIMITS, type EventData } from '../../../src/event-store/event-store';
import { prepareEvents } from '../../../src/event-store/validation';

describe('EventStoreDB mapping: expected revisions', () => {
  it.each([
    ['any', 'any'],
    ['no_stream', 'no_stream'],
    ['stream_exists', 'stream_exists'],
    [0n, 0n],
    [41n, 41n],
  ] as const)('maps %p to ESDB %p', (expected, esdb) => {
    expect(toEsdbExpectedRevision(expected)).toBe(esdb);
  });

  it('maps revision -1n ("no stream" as a number) to ESDB no_stream, which has no negative revisions', () => {
    expect(toEsdbExpectedRevision(-1n)).toBe('no_stream');
  });

  it('reads ESDB current revisions as the contract counts them, -1n for a missing stream', () => {
    expect(toRevision('no_stream')).toBe(-1n);
    expect(toRevision(-1n)).toBe(-1n);
    expect(toRevision(0n)).toBe(0n);
    expect(toRevision(7n)).toBe(7n);
  });
});

describe('EventStoreDB mapping: positions', () => {
  it('maps commit/prepare onto Position both ways, unchanged', () => {
    const esdb = { commit: 1_234_567_890_123n, prepare: 1_234_567_890_001n };
    const position = toPosition(esdb);
    expect(position.commit).toBe(esdb.commit);
    expect(position.prepare).toBe(esdb.prepare);
    expect(toEsdbPosition(position)).toEqual(esdb);
  });

  it('keeps ESDB order: commit first, then prepare', () => {
    expect(toPosition({ commit: 10n, prepare: 5n }).isAfter(toPosition({ commit: 9n, prepare: 9n }))).toBe(true);
    expect(toPosition({ commit: 10n, prepare: 5n }).isBefore(toPosition({ commit: 10n, prepare: 6n }))).toBe(true);
  });

  it('passes the ends of the log through and turns a Position into a plain ESDB position', () => {
    expect(toEsdbReadPosition('start')).toBe('start');
    expect(toEsdbReadPosition('end')).toBe('end');
    expect(toEsdbReadPosition(Position.of(3n, 2n))).toEqual({ commit: 3n, prepare: 2n });
  });
});

describe('EventStoreDB mapping: filters', () => {
  it('escapes every regex syntax character so a name matches only itself', () => {
    const name = 'a.b*c+d?e^f$g|h(i)j[k]l{m}n\\o';
    const escaped = escapeRegex(name);
    expect(new RegExp(`^${escaped}$`).test(name)).toBe(true);
    expect(new RegExp(`^${escaped}$`).test(name.replace('.', 'x'))).toBe(false);
  });

  it('builds an anchored alternation that matches exact type names only', () => {
    const regex = new RegExp(exactNamesRegex(['OrderPlaced', 'order.v2']));
    expect(exactNamesRegex(['OrderPlaced', 'order.v2'])).toBe('^(?:OrderPlaced|order\\.v2)$');
    expect(regex.test('OrderPlaced')).toBe(true);
    expect(regex.test('order.v2')).toBe(true);
    expect(regex.test('OrderPlacedV2')).toBe(false);
    expect(regex.test('XOrderPlaced')).toBe(false);
    expect(regex.test('orderXv2')).toBe(false);
  });

  it('filters system types out on the server when no filter is given', () => {
    for (const filter of [undefined, {}] as const) {
      expect(toEsdbFilterSpec(filter)).toEqual({ filterOn: 'eventType', regex: NON_SYSTEM_TYPES });
    }
    expect(new RegExp(NON_SYSTEM_TYPES).test('OrderPlaced')).toBe(true);
    expect(new RegExp(NON_SYSTEM_TYPES).test('$>')).toBe(false);
  });

  it('uses a stream-name prefix filter for stream prefixes', () => {
    expect(toEsdbFilterSpec({ streamPrefixes: ['order-', 'invoice-'] })).toEqual({
      filterOn: 'streamName',
      prefixes: ['order-', 'invoice-'],
    });
  });

  it('uses an exact event-type regex for event types, also when stream prefixes are given too', () => {
    const expected = { filterOn: 'eventType', regex: '^(?:OrderPlaced|OrderShipped)$' };
    expect(toEsdbFilterSpec({ eventTypes: ['OrderPlaced', 'OrderShipped'] })).toEqual(expected);
    expect(toEsdbFilterSpec({ eventTypes: ['OrderPlaced', 'OrderShipped'], streamPrefixes: ['order-'] })).toEqual(
      expected,
    );
  });

  it('selects nothing for an empty list, like the in-process filter', () => {
    const empties: EventFilter[] = [{ eventTypes: [] }, { streamPrefixes: [] }, { eventTypes: [], streamPrefixes: ['a'] }];
    for (const filter of empties) {
      const spec = toEsdbFilterSpec(filter);
      expect('regex' in spec && spec.regex).toBe(MATCH_NOTHING);
    }
    expect(new RegExp(MATCH_NOTHING).test('')).toBe(false);
    expect(new RegExp(MATCH_NOTHING).test('anything')).toBe(false);
  });

  it('treats $ streams and $ types as ESDB system events', () => {
    expect(isSystemEvent('$stats-127.0.0.1:2113', 'StatsCollected')).toBe(true);
    expect(isSystemEvent('$$order-1', '$metadata')).toBe(true);
    expect(isSystemEvent('order-1', '$>')).toBe(true);
    expect(isSystemEvent('order-1', 'OrderPlaced')).toBe(false);
  });
});

describe('EventStoreDB mapping: events', () => {
  const events: EventData[] = [
    { id: '0F8FAD5B-D9CB-469F-A165-70867728950E', type: 'Nested', data: { a: [1, 'two', { three: null }], b: true } },
    { id: '7c9e6679-7425-40de-944b-e07fc1f90ae7', type: 'Null', data: null, metadata: { correlationId: 'c-1' } },
    { id: '16fd2706-8baf-433b-82eb-8c7fada847da', type: 'Zero', data: 0 },
    { id: '886313e1-3b8a-5372-9b90-0c9aee199e5d', type: 'False', data: false },
    { id: 'a8098c1a-f86e-11da-bd1a-00112444be1e', type: 'Text', data: '' },
  ];
  const prepared = prepareEvents(events, DEFAULT_LIMITS);

  it('sends JSON events with the normalised id, the type, and data and metadata as JSON values', () => {
    const sent = prepared.map(toEsdbEventData);
    expect(sent.map((event) => event.contentType)).toEqual(Array(events.length).fill('application/json'));
    expect(sent[0]!.id).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(sent.map((event) => event.type)).toEqual(events.map((event) => event.type));
    expect(sent.map((event) => event.data)).toEqual(events.map((event) => event.data));
    expect(sent.map((event) => event.metadata)).toEqual(events.map((event) => event.metadata ?? {}));
  });

  it('reads back exactly the JSON values it sent, through the client’s own serialisation and decoding', () => {
    // The server stores the bytes the client sends; this replays the client's encoding (JSON.stringify of
    // data and metadata) into a gRPC record and decodes it with the client's own converter.
    prepared.forEach((event, index) => {
      const sent = toEsdbEventData(event);
      const record = grpcRecord({
        id: sent.id,
        streamName: 'order-1',
        revision: BigInt(index),
        position: { commit: 100n + BigInt(index), prepare: 100n + BigInt(index) },
        type: sent.type,
        data: JSON.stringify(sent.data),
        metadata: JSON.stringify(sent.metadata),
        created: 17_000_000_000_000_000n,
      });
      const read = toRecordedEvent(convertGrpcRecord(record))!;
      expect(read.id).toBe(event.id);
      expect(read.data).toEqual(events[index]!.data);
      expect(read.metadata).toEqual(events[index]!.metadata ?? {});
      expect(read.revision).toBe(BigInt(index));
      expect(read.position.equals(Position.of(100n + BigInt(index), 100n + BigInt(index)))).toBe(true);
      expect(read.recordedAt).toEqual(new Date(1_700_000_000_000));
    });
  });

  it('maps an ESDB record onto the contract, with recordedAt from created', () => {
    const created = new Date('2024-05-01T12:00:00Z');
    const record = esdbRecord({ streamId: 'order-1', type: 'OrderPlaced', revision: 3n, created });
    expect(toRecordedEvent(record)).toEqual({
      id: record.id,
      type: 'OrderPlaced',
      streamName: 'order-1',
      revision: 3n,
      position: Position.of(50n, 40n),
      data: { orderId: 'o-1' },
      metadata: { correlationId: 'c-1' },
      recordedAt: created,
    });
  });

  it('skips ESDB system events', () => {
    expect(toRecordedEvent(esdbRecord({ streamId: '$stats-node', type: 'Stats' }))).toBeUndefined();
    expect(toRecordedEvent(esdbRecord({ streamId: 'order-1', type: '$>' }))).toBeUndefined();
  });

  it('refuses a record without a position (servers before 22.10) with a typed error', () => {
    const record = { ...esdbRecord({}), position: undefined };
    expect(() => toRecordedEvent(record)).toThrow(StoreUnavailableError);
  });

  it('decodes bytes written by other tools: JSON when it is JSON, base64 text otherwise', () => {
    expect(toJsonValue(new TextEncoder().encode('{"a":1}'))).toEqual({ a: 1 });
    expect(toJsonValue(Uint8Array.from([0xff, 0x00, 0x01]))).toBe(Buffer.from([0xff, 0x00, 0x01]).toString('base64'));
    expect(toMetadata(undefined)).toEqual({});
    expect(toMetadata(['not', 'an', 'object'])).toEqual({});
    expect(toMetadata({ userId: 'u-1' })).toEqual({ userId: 'u-1' });
    // The hash chain's record is the store's, never shown to the caller.
    expect(toMetadata({ userId: 'u-1', [CHAIN_METADATA_KEY]: { v: 1, hash: 'ab', previous: 'cd' } })).toEqual({ userId: 'u-1' });
  });

  it('redacts the password of a connection string', () => {
    expect(redactConnectionString('esdb://admin:changeit@node1:2113,node2:2113?tls=false')).toBe(
      'esdb://admin:***@node1:2113,node2:2113?tls=false',
    );
    expect(redactConnectionString('esdb://localhost:2113')).toBe('esdb://localhost:2113');
  });
});

// The subscription tests drive the client's real subscription transform in process, feeding it the gRPC
// messages a server sends (a stand-in for the network, since no EventStoreDB server can run here).
describe('EventStoreDB mapping: subscription flow', () => {
  it('signals caught-up exactly where the server said so, after events still buffered in the stream', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(allStreamSteps('start', Position.of(999n, 999n), undefined));
    feed.send(event(1), event(2), event(3), caughtUp(), event(4));
    expect(await take(subscription, 5)).toEqual(['order-1@1', 'order-1@2', 'order-1@3', 'caught-up', 'order-1@4']);
    await subscription.close();
  });

  it('signals caught-up once the head seen at the start is delivered when the server sends no caught-up message', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(allStreamSteps('start', Position.of(2n, 2n), undefined));
    feed.send(event(1), event(2), event(3), caughtUp());
    expect(await take(subscription, 4)).toEqual(['order-1@1', 'order-1@2', 'caught-up', 'order-1@3']);
    await subscription.close();
  });

  it('uses filter checkpoints past the head to signal caught-up when no matching event reaches it', async () => {
    const feed = new ServerFeed();
    const filter = { streamPrefixes: ['order-'] };
    const subscription = feed.subscription(allStreamSteps('start', Position.of(5n, 5n), filter));
    feed.send(event(1), checkpoint(6), event(7));
    expect(await take(subscription, 3)).toEqual(['order-1@1', 'caught-up', 'order-1@7']);
    await subscription.close();
  });

  it('starts after the given position even if the server repeats it, and skips system and unmatched events', async () => {
    const feed = new ServerFeed();
    const filter = { eventTypes: ['OrderPlaced'] };
    const subscription = feed.subscription(allStreamSteps(Position.of(2n, 2n), Position.of(9n, 9n), filter));
    feed.send(event(2), event(3, '$stats-node'), event(4, 'order-1', 'OrderShipped'), event(5), caughtUp());
    expect(await take(subscription, 2)).toEqual(['order-1@5', 'caught-up']);
    await subscription.close();
  });

  it('is caught up at once when nothing is stored after the start', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(allStreamSteps(Position.of(9n, 9n), Position.of(9n, 9n), undefined));
    feed.send(caughtUp(), event(10));
    expect(await take(subscription, 2)).toEqual(['caught-up', 'order-1@10']);
    await subscription.close();
  });

  it('reads a stream subscription by revision, exclusive of the start', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(streamSteps(1n, 3n));
    feed.send(event(1, 'order-1', 'OrderPlaced', 1n), event(2, 'order-1', 'OrderPlaced', 2n));
    feed.send(event(3, 'order-1', 'OrderPlaced', 3n), event(4, 'order-1', 'OrderPlaced', 4n));
    expect(await take(subscription, 4)).toEqual(['order-1@2', 'order-1@3', 'caught-up', 'order-1@4']);
    await subscription.close();
  });

  it('ends iteration on close, even while waiting for the server, and cancels the gRPC call', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(allStreamSteps('start', undefined, undefined));
    const iterator = subscription[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ kind: 'caught-up' });
    const waiting = iterator.next();
    await subscription.close();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
    expect(feed.cancelled).toBe(true);
  });

  it('turns a server failure into the typed error, also when it happens before the first read', async () => {
    const feed = new ServerFeed();
    const subscription = feed.subscription(allStreamSteps('start', Position.of(9n, 9n), undefined));
    await new Promise((resolve) => setImmediate(resolve));
    feed.fail(new Error('connection reset'));
    await expect(take(subscription, 1)).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});

describe('EventStoreDB mapping: reads', () => {
  it('lets a read stopped early run out, so that the client sees its call finish', async () => {
    // The client's dispose() waits for every call to finish; a call whose data was all received finishes
    // only once that data is read, so destroying the stream here would make closing the store hang.
    const grpc = Object.assign(new PassThrough({ objectMode: true }), { cancel: () => undefined });
    const read = new ClientReadStream(() => Promise.resolve(grpc as never), convertGrpcEvent, {});
    const stream = new ClientStream(read, () => read.cancel());
    for (const response of [event(1), event(2), event(3)]) grpc.write(response);
    expect(await stream.next()).toMatchObject({ done: false });
    await stream.stop();
    expect(await stream.next()).toBe(ABORTED);
    // The server's end of the call arrives after the reader stopped.
    grpc.end();
    await finished(grpc);
    expect(grpc.readableEnded).toBe(true);
  });

  it('keeps an error the client emits before the first read, and throws it from that read', async () => {
    const grpc = Object.assign(new PassThrough({ objectMode: true }), { cancel: () => undefined });
    const read = new ClientReadStream(() => Promise.resolve(grpc as never), convertGrpcEvent, {});
    const stream = new ClientStream(read, () => read.cancel());
    await new Promise((resolve) => setImmediate(resolve));
    const failure = new Error('connection reset');
    grpc.emit('error', failure);
    await expect(stream.next()).rejects.toBe(failure);
    await stream.stop();
  });

  it('wakes a read waiting on the server when its abort signal fires', async () => {
    const grpc = Object.assign(new PassThrough({ objectMode: true }), { cancel: () => grpc.destroy() });
    const read = new ClientReadStream(() => Promise.resolve(grpc as never), convertGrpcEvent, {});
    const abort = new AbortController();
    const stream = new ClientStream(read, () => read.cancel(), abort.signal);
    const waiting = stream.next();
    abort.abort();
    await expect(waiting).resolves.toBe(ABORTED);
  });
});

function esdbRecord(overrides: Partial<EsdbRecordedEvent>): EsdbRecordedEvent {
  return {
    streamId: 'order-1',
    id: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
    isJson: true,
    revision: 0n,
    type: 'OrderPlaced',
    created: new Date(0),
    data: { orderId: 'o-1' },
    metadata: { correlationId: 'c-1' },
    position: { commit: 50n, prepare: 40n },
    ...overrides,
  } as EsdbRecordedEvent;
}

interface GrpcRecordFields {
  id: string;
  streamName: string;
  revision: bigint;
  position: { commit: bigint; prepare: bigint };
  type: string;
  data: string;
  metadata: string;
  created: bigint;
}

function grpcRecord(fields: GrpcRecordFields): ReadResp.ReadEvent.RecordedEvent {
  const record = new ReadResp.ReadEvent.RecordedEvent();
  record.setId(new UUID().setString(fields.id));
  record.setStreamIdentifier(new StreamIdentifier().setStreamName(Buffer.from(fields.streamName)));
  record.setStreamRevision(fields.revision.toString());
  record.setCommitPosition(fields.position.commit.toString());
  record.setPreparePosition(fields.position.prepare.toString());
  record.getMetadataMap().set('type', fields.type);
  record.getMetadataMap().set('content-type', 'application/json');
  record.getMetadataMap().set('created', fields.created.toString());
  record.setData(Buffer.from(fields.data));
  record.setCustomMetadata(Buffer.from(fields.metadata));
  return record;
}

/** A ReadResp carrying one event at position (n, n). */
function event(n: number, streamName = 'order-1', type = 'OrderPlaced', revision = BigInt(n)): ReadResp {
  const readEvent = new ReadResp.ReadEvent();
  readEvent.setEvent(
    grpcRecord({
      id: `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`,
      streamName,
      revision,
      position: { commit: BigInt(n), prepare: BigInt(n) },
      type,
      data: JSON.stringify({ n }),
      metadata: '{}',
      created: 0n,
    }),
  );
  return new ReadResp().setEvent(readEvent);
}

function caughtUp(): ReadResp {
  return new ReadResp().setCaughtUp(new ReadResp.CaughtUp());
}

function checkpoint(n: number): ReadResp {
  return new ReadResp().setCheckpoint(
    new ReadResp.Checkpoint().setCommitPosition(n.toString()).setPreparePosition(n.toString()),
  );
}

/** Plays the server's side of one subscription into the client's real subscription transform. */
class ServerFeed {
  cancelled = false;
  private readonly grpc = Object.assign(new PassThrough({ objectMode: true }), {
    cancel: () => {
      this.cancelled = true;
    },
  });

  subscription(steps: SubscriptionSteps): EventStoreDbSubscription {
    const client = new ClientSubscription<AllStreamResolvedEvent>(
      // The client's constructor types the gRPC call; this stand-in only needs to be a readable of responses.
      () => Promise.resolve(this.grpc as never),
      convertGrpcEvent,
      {},
      markCheckpoint,
    );
    const plan = { stream: watchSubscription(client), ...steps };
    return new EventStoreDbSubscription(
      () => Promise.resolve(plan),
      (error) => new StoreUnavailableError('subscription failed', { cause: error }),
      () => undefined,
    );
  }

  send(...responses: ReadResp[]): void {
    for (const response of responses) this.grpc.write(response);
  }

  fail(error: Error): void {
    this.grpc.emit('error', error);
  }
}

/** The first `count` messages, as `stream@revision` or `caught-up`. */
async function take(subscription: EventStoreDbSubscription, count: number): Promise<string[]> {
  const seen: string[] = [];
  if (count === 0) return seen;
  for await (const message of subscription as AsyncIterable<SubscriptionMessage>) {
    seen.push(message.kind === 'event' ? `${message.event.streamName}@${message.event.revision}` : 'caught-up');
    if (seen.length === count) break;
  }
  return seen;
}
