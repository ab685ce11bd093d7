import { auditServer } from 'graphql-http';
import { bearer, startTestApi, token, type TestApi } from './support/test-api';

const OPEN = 'mutation Open($input: OpenTicketInput!) { openTicket(input: $input) { position } }';
const COSTLY = '{ explode tickets { totalCount nodes { ticketId title status openedBy } pageInfo { hasNextPage endCursor } } }';
const GRAPHQL_RESPONSE = 'application/graphql-response+json';

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly wwwAuthenticate: string | null;
  readonly allow: string | null;
  readonly body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

async function answer(response: Response): Promise<Answer> {
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    wwwAuthenticate: response.headers.get('www-authenticate'),
    allow: response.headers.get('allow'),
    body: (await response.json()) as Answer['body'],
  };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(answer);
}

function get(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const search = new URLSearchParams({ query, ...(variables ? { variables: JSON.stringify(variables) } : {}) });
  return fetch(`${url}?${search.toString()}`, { headers }).then(answer);
}

/**
 * HTTP statuses, CSRF and GET, on both ways a request can be served: the API's own server (plain JSON
 * POSTs take the fast path to Apollo) and an API mounted into an Express app (everything goes through
 * Express). Both must answer alike.
 */
describe.each([
  ['on its own server (fast path)', 'listen'],
  ['mounted into Express', 'mount'],
] as const)('GraphQL over HTTP %s', (_name, how) => {
  let app: TestApi;
  let agent: Record<string, string>;

  beforeAll(async () => {
    // The audit's requests ask for `__type`: introspection on.
    app = await startTestApi({ introspection: true, limits: { maxComplexity: 10, bodyLimit: '1kb' } }, how);
    agent = bearer(await token('agent-1', ['agent']));
  });
  afterAll(() => app.close());

  async function eventsOf(streamName: string): Promise<number> {
    let count = 0;
    for await (const _event of app.eventStore.readStream(streamName)) count++;
    return count;
  }

  describe('authentication', () => {
    it('a bad, expired or malformed token fails the whole request: 401, UNAUTHENTICATED, WWW-Authenticate: Bearer error="invalid_token"', async () => {
      const wrongSecret = bearer(await token('x', [], { secret: 'another-secret-that-is-long-enough-too!!' }));
      const expired = bearer(await token('x', [], { expiresIn: '-1h' }));
      for (const [headers, message] of [
        [wrongSecret, 'the token is invalid'],
        [expired, 'the token has expired'],
        [{ authorization: 'Basic abc' }, 'the authorization must be "Bearer <token>"'],
      ] as const) {
        for (const response of [await postJson(app.url, { query: '{ openTicketCount }' }, headers), await get(app.url, '{ openTicketCount }', undefined, headers)]) {
          expect(response.status).toBe(401);
          expect(response.wwwAuthenticate).toMatch(/^Bearer error="invalid_token", error_description="[^"\\]*"$/);
          expect(response.body).toEqual({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }] });
        }
      }
    });

    it('no token on an operation that needs a user: 401, UNAUTHENTICATED, WWW-Authenticate: Bearer; nothing is written', async () => {
      const anonymous = await postJson(app.url, { query: OPEN, variables: { input: { ticketId: 'anon-1', title: 'x' } } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.wwwAuthenticate).toBe('Bearer');
      expect(anonymous.body.data).toBeNull();
      expect(anonymous.body.errors).toEqual([expect.objectContaining({ message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } })]);
      expect(await eventsOf('ticket-anon-1')).toBe(0);
      // Public reads need no token, and the same mutation with one succeeds.
      const publicRead = await postJson(app.url, { query: '{ ticket(id: "anon-1") { ticketId } }' });
      expect(publicRead).toMatchObject({ status: 200, wwwAuthenticate: null, body: { data: { ticket: null } } });
      const signedIn = await postJson(app.url, { query: OPEN, variables: { input: { ticketId: 'anon-1', title: 'x' } } }, agent);
      expect(signedIn.status).toBe(200);
      expect(signedIn.body.errors).toBeUndefined();
    });
  });

  describe('request errors (parse, validation, variables, limits): never 500; 400 for graphql-response+json, 200 for application/json', () => {
    it('a query over the complexity limit is refused before anything runs, as a client error', async () => {
      const limitError = { message: 'query complexity 11 exceeds the limit of 10', extensions: { code: 'BAD_USER_INPUT', limit: 'complexity', max: 10, actual: 11 } };
      const strict = await postJson(app.url, { query: COSTLY }, { accept: GRAPHQL_RESPONSE });
      expect(strict.status).toBe(400);
      expect(strict.type).toMatch(/^application\/graphql-response\+json/);
      expect(strict.body).toEqual({ errors: [limitError] });
      const legacy = await postJson(app.url, { query: COSTLY }, { accept: 'application/json' });
      expect(legacy.status).toBe(200);
      expect(legacy.type).toMatch(/^application\/json/);
      expect(legacy.body).toEqual({ errors: [limitError] });
      const overGet = await get(app.url, COSTLY, undefined, { accept: GRAPHQL_RESPONSE });
      expect(overGet.status).toBe(400);
      expect(overGet.body).toEqual({ errors: [limitError] });
    });

    it('parse, validation and variable errors are BAD_USER_INPUT without data: 400 or 200 by the media type', async () => {
      const requests = [{ query: '{' }, { query: '{ noSuchField }' }, { query: 'query($first: Int) { tickets(first: $first) { totalCount } }', variables: { first: 1.5 } }];
      for (const request of requests) {
        const strict = await postJson(app.url, request, { accept: GRAPHQL_RESPONSE });
        expect(strict.status).toBe(400);
        expect(strict.body.data).toBeUndefined();
        expect(strict.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        const legacy = await postJson(app.url, request);
        expect(legacy.status).toBe(200);
        expect(legacy.type).toMatch(/^application\/json/);
        expect(legacy.body.data).toBeUndefined();
        expect(legacy.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      }
    });

    it('a mutation variable of the wrong type is BAD_USER_INPUT and writes nothing, also once its document is known', async () => {
      // The first request makes the document (and its cost) known; the next ones reuse them.
      const fine = await postJson(app.url, { query: OPEN, variables: { input: { ticketId: 'typed-1', title: 'x' } } }, agent);
      expect(fine.body.errors).toBeUndefined();
      for (const accept of [GRAPHQL_RESPONSE, 'application/json']) {
        const wrong = await postJson(app.url, { query: OPEN, variables: { input: { ticketId: 'typed-2', title: 5 } } }, { ...agent, accept });
        expect(wrong.status).toBe(accept === GRAPHQL_RESPONSE ? 400 : 200);
        expect(wrong.body.data).toBeUndefined();
        expect(wrong.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        expect(wrong.body.errors?.[0]?.message).toContain('String cannot represent a non string value: 5');
      }
      expect(await eventsOf('ticket-typed-1')).toBe(1);
      expect(await eventsOf('ticket-typed-2')).toBe(0);
    });

    it('a malformed or oversized body is still a typed error: 400 and 413 with BAD_USER_INPUT', async () => {
      const malformed = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' }).then(answer);
      expect(malformed).toMatchObject({ status: 400, body: { errors: [{ message: 'malformed request body', extensions: { code: 'BAD_USER_INPUT' } }] } });
      const large = await postJson(app.url, { query: '{ openTicketCount }', variables: { padding: 'x'.repeat(2048) } });
      expect(large).toMatchObject({ status: 413, body: { errors: [{ extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: '1kb' } }] } });
    });
  });

  it('passes the GraphQL-over-HTTP audit (graphql-http): no MUST or SHOULD fails', async () => {
    const results = await auditServer({ url: app.url, fetchFn: fetch });
    const failures = await Promise.all(
      results
        .filter((result) => result.status !== 'ok' && !result.name.startsWith('MAY'))
        .map(async (result) => `${result.id} ${result.name}: ${result.status === 'ok' ? '' : `${result.reason} (${result.response.status} ${await result.response.text()})`}`),
    );
    expect(failures).toEqual([]);
    expect(results.filter((result) => result.name.startsWith('MUST')).length).toBeGreaterThan(10);
  });

  describe('GET and CSRF', () => {
    it('a GET runs a query without any Apollo-specific header', async () => {
      const response = await get(app.url, 'query Count { openTicketCount }');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ data: { openTicketCount: expect.any(Number) as unknown } });
    });

    it('a GET mutation is refused with 405 and Allow: POST before anything runs, even signed in', async () => {
      const response = await get(app.url, OPEN, { input: { ticketId: 'get-1', title: 'x' } }, agent);
      expect(response.status).toBe(405);
      expect(response.allow).toBe('POST');
      expect(response.body.errors).toEqual([expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } })]);
      expect(await eventsOf('ticket-get-1')).toBe(0);
    });

    it('a POST that is not application/json (a cross-site "simple request": text/plain, a form, no type) is refused with 415 and runs nothing', async () => {
      const mutation = JSON.stringify({ query: OPEN, variables: { input: { ticketId: 'csrf-1', title: 'x' } } });
      const form = new FormData();
      form.set('query', OPEN);
      const bodies: [string | undefined, string | FormData][] = [
        ['text/plain', mutation],
        ['text/plain;charset=UTF-8', mutation],
        ['application/x-www-form-urlencoded', new URLSearchParams({ query: OPEN }).toString()],
        [undefined, form],
      ];
      for (const [type, body] of bodies) {
        const response = await fetch(app.url, { method: 'POST', headers: { ...agent, ...(type ? { 'content-type': type } : {}) }, body }).then(answer);
        expect(response.status).toBe(415);
        expect(response.body).toEqual({ errors: [{ message: 'a GraphQL POST must have the content type application/json', extensions: { code: 'BAD_USER_INPUT' } }] });
      }
      expect(await eventsOf('ticket-csrf-1')).toBe(0);
    });
  });
});
