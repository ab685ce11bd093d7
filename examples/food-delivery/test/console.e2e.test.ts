import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Client } from 'graphql-ws';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppProcess, freePort, killAll, tempDataDir } from './support/app-process';
import { graphqlData, SubscriptionRecorder, wsClient } from './support/graphql-client';

/** Debian's Chromium (`apt-get install chromium`), or the one CHROMIUM_PATH names. Never downloaded. */
function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((path): path is string => !!path);
  for (const path of candidates) if (existsSync(path)) return path;
  try {
    const found = execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' }).trim();
    return found || undefined;
  } catch {
    return undefined;
  }
}

const CHROMIUM = findChromium();
const OUTPUT = resolve(__dirname, '..', '..', '..', 'test-output');
const REASON = 'no Chromium found (looked at CHROMIUM_PATH, /usr/bin/chromium, chromium-browser on PATH); install it with `apt-get install chromium`';
const SECRET = 'console-e2e-payment-secret-0123456789';
const PLACE = `mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { streamName position } }`;

if (!CHROMIUM) {
  if (process.env.EVENTFOLD_REQUIRE_BROWSER === '1') throw new Error(`EVENTFOLD_REQUIRE_BROWSER=1 but ${REASON}`);
  console.warn(`SKIPPED the console browser test: ${REASON}`);
}

// Where no browser exists the test is reported as skipped, with the reason above.
(CHROMIUM ? describe : describe.skip)('the operator console in a real browser (headless Chromium via playwright-core)', () => {
  jest.setTimeout(180_000);
  const data = tempDataDir();
  let paymentPort: number;
  let payment: AppProcess;
  let app: AppProcess;
  let browser: Browser;
  let ws: Client;

  const startPayment = async (): Promise<AppProcess> => {
    const started = AppProcess.spawnPaymentFunction({ dataDir: data.path, paymentPort, env: { PAYMENT_WEBHOOK_SECRET: SECRET } });
    await started.waitForOutput(/Payment function listening/);
    return started;
  };

  const placeOrder = async (): Promise<{ orderId: string; streamName: string }> => {
    const orderId = randomUUID();
    const input = { orderId, customerId: 'console-e2e', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'shoyu-ramen', quantity: 1 }] };
    const { placeOrder } = await graphqlData<{ placeOrder: { streamName: string } }>(app.graphqlUrl, PLACE, { input });
    return { orderId, streamName: placeOrder.streamName };
  };

  const statusOf = (orderId: string) =>
    new SubscriptionRecorder<{ status: string }>(ws, 'subscription ($id: ID!) { orderUpdated(id: $id) { status } }', { id: orderId }, (value) => value.orderUpdated as { status: string });

  beforeAll(async () => {
    paymentPort = await freePort();
    payment = await startPayment();
    // The payment function runs in its own process, so the test can stop it; two attempts, then parked.
    app = await AppProcess.start({
      dataDir: data.path,
      env: { PAYMENT_URL: `http://127.0.0.1:${paymentPort}/charge`, PAYMENT_WEBHOOK_SECRET: SECRET, PAYMENT_ATTEMPTS: '2' },
    });
    ws = wsClient(app.wsUrl);
    browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await ws?.dispose();
    await browser?.close();
    await app?.interrupt();
    await payment?.interrupt();
    await killAll();
    data.remove();
  });

  it("opens an order's stream, follows the live tail, rebuilds a projection and redrives a parked payment", async () => {
    const page: Page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));

    // An order that completes while the payment function is up.
    const done = await placeOrder();
    const doneStatus = statusOf(done.orderId);
    await doneStatus.until((order) => order.status === 'DRIVER_ASSIGNED', 'the first order to be assigned a driver', 20_000);
    doneStatus.close();

    // The reference page links the console.
    await page.goto(app.url);
    await page.getByRole('link', { name: 'Operator console' }).click();
    await page.waitForURL(/\/console$/);

    // Streams: browse by prefix, open the order's stream, see its events, the state at a revision, the workflow.
    await page.getByLabel('Stream prefix').first().fill('order-');
    await page.getByRole('button', { name: 'List streams' }).click();
    await page.locator(`li[data-stream="${done.streamName}"]`).click();
    await page.locator('#events tr[data-event-type="DriverAssigned"]').waitFor();
    const types: (string | null)[] = [];
    const rows = page.locator('#events tr');
    for (let index = 0; index < (await rows.count()); index++) types.push(await rows.nth(index).getAttribute('data-event-type'));
    expect(types).toEqual(['OrderPlaced', 'OrderValidated', 'PaymentSucceeded', 'OrderApproved', 'DriverAssigned']);
    expect(await page.locator('#events tr[data-event-type="OrderPlaced"] pre.data').textContent()).toContain('"shoyu-ramen"');
    expect(await page.locator('#events tr[data-event-type="OrderPlaced"] pre.metadata').textContent()).toContain('"correlationId"');
    await page.locator('#events tr[data-event-type="OrderValidated"] button[data-state-at]').click();
    await page.locator('#state-json').filter({ hasText: 'VALIDATED' }).waitFor();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'console-streams.png'), fullPage: true, animations: 'disabled' });
    await page.locator('#events tr[data-event-type="OrderPlaced"]').getByRole('button', { name: 'Workflow' }).click();
    await page.locator('#stream-title').filter({ hasText: 'Workflow' }).waitFor();
    expect(await page.locator('#events tr').count()).toBe(5);

    // Live tail, then stop the payment function and place an order: the tail shows it, its payment parks.
    await page.getByRole('tab', { name: 'Live tail' }).click();
    await page.locator('#tail-prefix').fill('order-');
    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('#tail-status').filter({ hasText: 'following order-' }).waitFor();
    expect((await payment.interrupt()).code).toBe(0);
    const stuck = await placeOrder();
    await page.locator('#tail tr[data-event-type="OrderPlaced"]').first().waitFor();
    expect(await page.locator('#tail tr[data-event-type="OrderPlaced"]').first().textContent()).toContain(stuck.streamName);

    // Projections: rebuild the orders read model and watch it finish.
    await page.getByRole('tab', { name: 'Projections' }).click();
    const orders = page.locator('tr[data-projection="orders"]');
    await orders.locator('button[data-rebuild="orders"]').click();
    await orders.locator('.rebuilt').waitFor({ timeout: 20_000 });
    expect(await orders.getAttribute('data-state')).toBe('live');
    expect(await orders.getAttribute('data-rebuilding')).toBe('false');

    // Reactors: the payment of the order placed while the function was down is parked, with its error.
    await page.getByRole('tab', { name: 'Reactors' }).click();
    const paymentRow = page.locator('tr[data-reactor="payment"]');
    await paymentRow.and(page.locator(':not([data-parked="0"])')).waitFor({ timeout: 30_000 });
    await paymentRow.click();
    const parkedRow = page.locator('#parked tr[data-event-id]').first();
    await parkedRow.waitFor();
    expect(await parkedRow.locator('td').nth(2).textContent()).toMatch(/^order-/);
    expect((await parkedRow.locator('.reason').textContent())!.length).toBeGreaterThan(0);
    await page.locator('#invocations tr[data-outcome="parked"]').first().waitFor();

    // Start the payment function again and redrive: the order goes through, the parked list empties.
    payment = await startPayment();
    const stuckStatus = statusOf(stuck.orderId);
    await page.locator('#parked button[data-redrive]').first().click();
    await stuckStatus.until((order) => order.status === 'DRIVER_ASSIGNED', 'the redriven order to be assigned a driver', 30_000);
    stuckStatus.close();
    await page.locator('#parked tr.none').waitFor({ timeout: 10_000 });
    await page.locator('#invocations tr[data-outcome="succeeded"]').first().waitFor({ timeout: 10_000 });
    await paymentRow.and(page.locator('[data-parked="0"]')).waitFor();
    expect(consoleErrors).toEqual([]);

    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'console.png'), fullPage: true, animations: 'disabled' });
    expect(existsSync(join(OUTPUT, 'console.png'))).toBe(true);
  });
});
