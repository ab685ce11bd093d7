import { startTestApi, type TestApi } from './support/test-api';

describe('createApi({ console })', () => {
  let withConsole: TestApi;
  let without: TestApi;
  beforeAll(async () => {
    withConsole = await startTestApi({ console: true, path: '/api/graphql' });
    without = await startTestApi();
  });
  afterAll(async () => {
    await withConsole.close();
    await without.close();
  });

  const base = (app: TestApi) => app.url.replace(/\/(api\/)?graphql$/, '');

  it('serves the console page, its script, style and graphql-ws at /console, pointed at the API path', async () => {
    const page = await fetch(`${base(withConsole)}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<meta name="eventfold-graphql" content="/api/graphql">');
    expect(html).toContain('/console/console.js');
    for (const [file, type, text] of [
      ['console.js', 'text/javascript', 'eventAppended'],
      ['console.css', 'text/css', '.panel'],
      ['vendor/graphql-ws.min.js', 'text/javascript', 'graphql-transport-ws'],
    ] as const) {
      const response = await fetch(`${base(withConsole)}/console/${file}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      expect(await response.text()).toContain(text);
    }
    expect((await fetch(`${base(withConsole)}/console/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${base(withConsole)}/console/index.html`)).status).toBe(404);
  });

  it('is off by default', async () => {
    expect((await fetch(`${base(without)}/console`)).status).toBe(404);
  });

  it('shows no data without the admin role: the API it calls refuses', async () => {
    const response = await fetch(withConsole.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ storeHead projectionStatuses { name } }' }),
    });
    const body = (await response.json()) as { errors?: { extensions?: { code?: string } }[] };
    expect(response.status).toBe(401);
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
