import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { EventStoreDbEventStore } from '../../src/backends/eventstoredb/eventstoredb-event-store';
import type { CliContext } from '../../src/cli/cli-context';
import { runCli } from '../../src/cli/program';
import { FakeEsdbServer } from '../backends/eventstoredb/fake-esdb-server';

/*
 * `eventfold verify --store esdb://…` end to end in this process, against FakeEsdbServer: a MOCK of the
 * EventStoreDB server, because none can be obtained on this machine. Only the client's connection is
 * replaced (`EventStoreDBClient.connectionString` hands out the mock's client); the CLI, the connection
 * string parsing, the backend loading and the adapter are the real ones.
 */
let mockServer = new FakeEsdbServer();
jest.mock('@eventstore/db-client', () => {
  const actual = jest.requireActual<typeof import('@eventstore/db-client')>('@eventstore/db-client');
  return { ...actual, EventStoreDBClient: { connectionString: () => mockServer.client() } };
});

const URL = 'esdb://localhost:2113?tls=false';

class Captured extends Writable {
  text = '';
  readonly isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

async function cli(argv: readonly string[]) {
  const stdout = new Captured();
  const stderr = new Captured();
  const context: CliContext = { stdout, stderr, env: {}, json: false, signal: new AbortController().signal };
  const code = await runCli(argv, context);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const event = (type: string, data: Record<string, string | number>) => ({ id: randomUUID(), type, data });

beforeEach(async () => {
  mockServer = new FakeEsdbServer();
  const store = EventStoreDbEventStore.onClient(mockServer.client());
  await store.appendToStream('order-1', [event('OrderPlaced', { total: 12 }), event('OrderPaid', { by: 'card' })]);
  await store.appendToStream('cart-1', [event('ItemAdded', { sku: 'a' })]);
  await store.close();
});

describe('eventfold verify on EventStoreDB', () => {
  it('exits 0 on an intact store and says what it cannot prove there', async () => {
    const result = await cli(['verify', '--store', URL]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^intact: 3 events, 0 batches, 2 streams checked/);
    expect(result.stdout).toMatch(/not proven on this store:\n {2}- EventStoreDB keeps no \$all chain/);
    const json = await cli(['--json', 'verify', '--store', URL]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, eventsChecked: 3, unchainedEvents: 0, notProven: expect.arrayContaining([expect.any(String)]) });
  });

  it('exits 1 naming the stream and revision where the chain breaks', async () => {
    mockServer.record('order-1', 1n).data = Buffer.from(JSON.stringify({ by: 'cash' }));
    const result = await cli(['verify', '--store', URL]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^BROKEN: 1 break\(s\)/);
    expect(result.stdout).toContain('stream "order-1" revision 1');
  });

  it('exits 2 when asked for a head EventStoreDB does not keep', async () => {
    const result = await cli(['verify', '--store', URL, '--expect-head', `1:${'0'.repeat(64)}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no $all chain');
  });
});
