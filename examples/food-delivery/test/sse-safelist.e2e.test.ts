import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createClient } from 'graphql-sse';
import { chromium, type Browser } from 'playwright-core';
import { pageOperations } from '../scripts/page-codegen';
import { AppProcess, killAll, tempDataDir } from './support/app-process';

const OPERATIONS = pageOperations();
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path): path is string => !!path && existsSync(path));

async function post(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ status: number; body: { data?: Record<string, unknown>; errors?: { extensions?: { code?: string } }[] } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
  return { status: response.status, body: (await response.json()) as { data?: Record<string, unknown> } };
}

/**
 * The reference app in its production mode (`SAFELIST=1`): only the page's operations (the manifest
 * `npm run codegen` writes) run, over HTTP, WebSocket and SSE; graphql-sse's own client follows an
 * order live; and the page, with its WebSocket cut, falls back to SSE and still shows the order move.
 */
describe('the food-delivery app with SAFELIST=1, over SSE', () => {
  jest.setTimeout(120_000);
  const data = tempDataDir();
  let app: AppProcess;

  beforeAll(async () => {
    app = await AppProcess.start({ dataDir: data.path, env: { SAFELIST: '1' } });
  });
  afterAll(async () => {
    await app?.interrupt();
    await killAll();
    data.remove();
  });

  it('an ad-hoc operation is refused with QUERY_NOT_IN_SAFELIST; the page\'s own operations run', async () => {
    const adHoc = await post(app.graphqlUrl, '{ restaurants { id } }');
    expect(adHoc.status).toBe(400);
    expect(adHoc.body.errors?.[0]?.extensions?.code).toBe('QUERY_NOT_IN_SAFELIST');
    const listed = await post(app.graphqlUrl, OPERATIONS.Start!);
    expect(listed.status).toBe(200);
    expect(listed.body.data?.restaurantApproval).toBe('auto');
  });

  for (const singleConnection of [false, true]) {
    it(`graphql-sse's client (${singleConnection ? 'single-connection' : 'distinct-connections'} mode) follows an order from OrderPlaced to DRIVER_ASSIGNED`, async () => {
      const orderId = randomUUID();
      const client = createClient({ url: app.graphqlUrl, singleConnection, retryAttempts: 0 });
      const statuses: string[] = [];
      try {
        const updates = client.iterate<{ orderUpdated: { status: string } }>({ query: OPERATIONS.Updated!, variables: { id: orderId, fromRevision: 0 } });
        const placed = await post(app.graphqlUrl, OPERATIONS.Place!, {
          input: { orderId, customerId: 'customer-sse', restaurantId: 'tokyo-ramen', items: [{ menuItemId: 'gyoza', quantity: 1 }] },
          commandId: randomUUID(),
        });
        expect(placed.body.errors).toBeUndefined();
        const deadline = setTimeout(() => void client.dispose(), 30_000);
        for await (const result of updates) {
          expect(result.errors).toBeUndefined();
          const status = result.data?.orderUpdated.status;
          if (status && statuses[statuses.length - 1] !== status) statuses.push(status);
          if (status === 'DRIVER_ASSIGNED') break;
        }
        clearTimeout(deadline);
      } finally {
        client.dispose();
      }
      expect(statuses).toEqual(['PLACED', 'VALIDATED', 'PAID', 'APPROVED', 'DRIVER_ASSIGNED']);
      // An ad-hoc subscription is refused on the stream itself.
      const refusing = createClient({ url: app.graphqlUrl, singleConnection, retryAttempts: 0 });
      try {
        const refused = await refusing.iterate({ query: 'subscription { orderUpdated(id: "x") { status } }' })[Symbol.asyncIterator]().next();
        expect((refused.value as { errors?: { extensions?: { code?: string } }[] }).errors?.[0]?.extensions?.code).toBe('QUERY_NOT_IN_SAFELIST');
      } finally {
        refusing.dispose();
      }
    });
  }

  (CHROMIUM ? it : it.skip)('the page falls back to SSE when its WebSocket is cut, and the order still moves live (headless Chromium)', async () => {
    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM!,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      let cut = 0;
      // A proxy that drops WebSockets: every upgrade of /graphql is closed before the handshake completes.
      await page.routeWebSocket(/\/graphql$/, (socket) => {
        cut++;
        void socket.close({ code: 1006 });
      });
      await page.goto(app.url);
      await page.getByRole('button', { name: /Tokyo Ramen Bar/ }).click();
      await page.getByRole('button', { name: 'one more Gyoza (6)' }).click();
      await page.getByRole('button', { name: 'Place order' }).click();
      await page.getByTestId('order-status').and(page.locator('[data-status="DRIVER_ASSIGNED"]')).waitFor({ timeout: 30_000 });
      expect(await page.locator('body').getAttribute('data-transport')).toBe('sse');
      expect(cut).toBeGreaterThan(0);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
