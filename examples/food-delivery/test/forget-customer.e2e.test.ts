import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { runCli } from '../../../src/cli/program';
import { AppProcess, tempDataDir } from './support/app-process';
import { graphql, graphqlData, SubscriptionRecorder, wsClient } from './support/graphql-client';

jest.setTimeout(120_000);

const ORDER_FIELDS = 'id status customerId customerName deliveryAddress personalDataErased';
const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { position } }`;
const ORDER = `query Order($id: ID!) { order(id: $id) { ${ORDER_FIELDS} } }`;
const HISTORY = `query History($id: ID!) { orderHistory(id: $id) { type data metadata } }`;
const FORGET = `mutation Forget($customerId: ID!) { forgetCustomer(customerId: $customerId) { customerId keysDestroyed position } }`;

interface OrderView {
  id: string;
  status: string;
  customerId: string;
  customerName: string | null;
  deliveryAddress: string | null;
  personalDataErased: boolean;
}

/** The files of the data folder holding any of these texts (databases, WAL and shared-memory files alike). */
function filesHolding(folder: string, texts: readonly string[]): string[] {
  const needles = texts.map((text) => Buffer.from(text, 'utf8'));
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => {
      const bytes = readFileSync(path);
      return needles.some((needle) => bytes.includes(needle));
    });
}

describe('forgetCustomer on the running app (SQLite)', () => {
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

  const NAME = 'Wilhelmina Featherstonehaugh';
  const ADDRESS = '42 Quixotic Lane, Zanzibar Heights';
  const OTHER_NAME = 'Ordinary Neighbour';

  const place = (customerId: string, extra: Record<string, unknown>) => {
    const orderId = randomUUID();
    const input = { orderId, customerId, restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }], ...extra };
    return graphqlData(app.graphqlUrl, PLACE, { input }).then(() => orderId);
  };
  const watch = (orderId: string) =>
    new SubscriptionRecorder<OrderView>(ws, `subscription U($id: ID!) { orderUpdated(id: $id, fromRevision: 0) { ${ORDER_FIELDS} } }`, { id: orderId }, (data) => data.orderUpdated as OrderView);
  const order = async (id: string) => (await graphqlData<{ order: OrderView }>(app.graphqlUrl, ORDER, { id })).order;

  it('shows the name and address, then erases them everywhere while the orders still complete', async () => {
    const first = await place('customer-forget', { customerName: NAME, deliveryAddress: ADDRESS });
    const other = await place('customer-keep', { customerName: OTHER_NAME, deliveryAddress: '1 Plain Road' });
    const firstUpdates = watch(first);
    const placed = await firstUpdates.until((view) => view.status === 'DRIVER_ASSIGNED', 'the first order to complete');
    expect(placed).toMatchObject({ customerName: NAME, deliveryAddress: ADDRESS, personalDataErased: false });
    await watch(other).until((view) => view.status === 'DRIVER_ASSIGNED', 'the other order to complete');
    // Sealed in the store: before the forget, the plaintext is only in the read models.
    expect(filesHolding(dir.path, [NAME, ADDRESS]).every((path) => path.includes('read-models'))).toBe(true);

    // An order placed just before the forget runs its whole workflow through the redaction.
    const late = await place('customer-forget', { customerName: NAME, deliveryAddress: ADDRESS });
    const lateUpdates = watch(late);
    const forgotten = await graphqlData<{ forgetCustomer: { customerId: string; keysDestroyed: number; position: string } }>(app.graphqlUrl, FORGET, {
      customerId: 'customer-forget',
    });
    expect(forgotten.forgetCustomer).toMatchObject({ customerId: 'customer-forget', keysDestroyed: 1 });
    await lateUpdates.until((view) => view.status === 'DRIVER_ASSIGNED', 'the late order to complete');

    for (const id of [first, late]) {
      expect(await order(id)).toMatchObject({ customerId: 'customer-forget', customerName: null, deliveryAddress: null, personalDataErased: true });
      const [placedEvent] = (await graphqlData<{ orderHistory: { type: string; data: Record<string, unknown> }[] }>(app.graphqlUrl, HISTORY, { id })).orderHistory;
      expect(placedEvent).toMatchObject({
        type: 'OrderPlaced',
        data: { customerId: 'customer-forget', customerName: { redacted: true, reason: 'forgotten' }, deliveryAddress: { redacted: true, reason: 'forgotten' } },
      });
    }
    expect(await order(other)).toMatchObject({ customerName: OTHER_NAME, personalDataErased: false });

    expect(filesHolding(dir.path, [NAME, ADDRESS])).toEqual([]);
    expect(filesHolding(dir.path, [OTHER_NAME]).length).toBeGreaterThan(0);
    expect(readdirSync(dir.path)).toEqual(expect.arrayContaining(['eventfold.db', 'read-models.db']));
    // Erasure rewrote no event: the store's hash chain still verifies (`eventfold verify`, exit 0).
    expect(await verifyCli(`sqlite:${join(dir.path, 'eventfold.db')}`)).toMatchObject({ code: 0, report: { ok: true } });

    // Forgetting again destroys nothing more; a bad id is the caller's error.
    expect((await graphqlData<{ forgetCustomer: { keysDestroyed: number } }>(app.graphqlUrl, FORGET, { customerId: 'customer-forget' })).forgetCustomer.keysDestroyed).toBe(0);
    const bad = await graphql(app.graphqlUrl, FORGET, { customerId: 'has space' });
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

/** Runs `eventfold verify --store <url> --json` in process; its exit code and report. */
async function verifyCli(store: string): Promise<{ code: number; report: unknown }> {
  let out = '';
  const sink = { write: (chunk: string) => ((out += chunk), true) } as unknown as NodeJS.WritableStream;
  const code = await runCli(['verify', '--store', store, '--json'], { stdout: sink, stderr: { write: () => true } as unknown as NodeJS.WritableStream, env: {}, json: false, signal: new AbortController().signal } as never);
  const lines = out.trim().split('\n').filter(Boolean);
  return { code, report: lines.length > 0 ? JSON.parse(lines[lines.length - 1]!) : undefined };
}
