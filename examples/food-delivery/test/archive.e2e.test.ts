import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Client } from 'graphql-ws';
import { runCli } from '../../../src/cli/program';
import { AppProcess, tempDataDir } from './support/app-process';
import { graphql, graphqlData, SubscriptionRecorder, wsClient } from './support/graphql-client';

jest.setTimeout(120_000);

const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { position } }`;
const EVENTS = `query Events($stream: String!) { streamEvents(streamName: $stream) { events { revision type data } } }`;
const STATE = `query State($stream: String!) { aggregateState(streamName: $stream, time: "2999-01-01T00:00:00Z") { revision } }`;

/** `eventfold …` in process, with its output. */
async function eventfold(argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (write: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        write(chunk.toString());
        callback();
      },
    });
  const code = await runCli(argv, {
    stdout: sink((text) => (stdout += text)),
    stderr: sink((text) => (stderr += text)),
    env: {},
    json: false,
    signal: new AbortController().signal,
  });
  return { code, stdout, stderr };
}

describe('archiving an order of the running app (SQLite)', () => {
  const dir = tempDataDir();
  let app: AppProcess;
  let ws: Client;
  beforeAll(async () => {
    app = await AppProcess.start({ dataDir: dir.path });
    ws = wsClient(app.wsUrl);
  });
  afterAll(async () => {
    await ws?.dispose();
    await app?.interrupt();
    dir.remove();
  });

  it('moves a completed order to the archive; the audit API still shows it, decrypted, and verify checks it', async () => {
    const orderId = randomUUID();
    const input = { orderId, customerId: 'customer-archived', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }], customerName: 'Archibald Coldstore' };
    const updates = new SubscriptionRecorder<{ status: string }>(
      ws,
      `subscription U($id: ID!) { orderUpdated(id: $id, fromRevision: 0) { status } }`,
      { id: orderId },
      (data) => data.orderUpdated as { status: string },
    );
    await graphqlData(app.graphqlUrl, PLACE, { input });
    await updates.until((view) => view.status === 'DRIVER_ASSIGNED', 'the order to complete');
    const stream = `order-${orderId}`;
    const live = await graphqlData<{ streamEvents: { events: { revision: string; type: string; data: { customerName?: unknown } }[] } }>(app.graphqlUrl, EVENTS, { stream });

    const store = `sqlite:${join(dir.path, 'eventfold.db')}`;
    const archived = await eventfold(['archive', '--store', store, '--out', join(dir.path, 'archive'), '--name', 'orders.ndjson.gz', '--stream', stream]);
    expect(archived).toMatchObject({ code: 0 });
    expect(archived.stdout).toContain(`archived 1 stream(s), ${live.streamEvents.events.length} events`);

    // The store no longer holds the order's events; the audit API reads them back from the archive, decrypted.
    const fromArchive = await graphql<{ streamEvents: { events: { revision: string; type: string; data: { customerName?: unknown } }[] } }>(app.graphqlUrl, EVENTS, { stream });
    expect(fromArchive.errors).toBeUndefined();
    expect(fromArchive.data!.streamEvents.events).toEqual(live.streamEvents.events);
    expect(fromArchive.data!.streamEvents.events[0]!.data.customerName).toBe('Archibald Coldstore');
    const state = await graphqlData<{ aggregateState: { revision: string } }>(app.graphqlUrl, STATE, { stream });
    expect(state.aggregateState.revision).toBe(live.streamEvents.events.at(-1)!.revision);

    const verified = await eventfold(['--json', 'verify', '--store', store, '--archives', join(dir.path, 'archive')]);
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, eventsArchived: live.streamEvents.events.length, archivedChecked: live.streamEvents.events.length });
  });
});
