import { createHash } from 'node:crypto';
import { ApolloClient, HttpLink, InMemoryCache, gql as parseGql } from '@apollo/client/core';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries';
import { Client as UrqlClient, fetchExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { createClient as createSseClient, type ExecutionResult } from 'graphql-sse';
import { subscribe, wsClient } from './support/ws-client';
import { gql, startTestApi, type TestApi } from './support/test-api';

const COUNT = 'query Count { openTicketCount }';
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Sent {
  readonly method: string;
  readonly query: string | undefined;
  readonly hash: string | undefined;
}

/** A fetch that records what Apollo Client sends (the query text or only its hash) and how. */
function recordingFetch(sent: Sent[]): typeof fetch {
  return async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const method = init?.method ?? 'GET';
    const params =
      method === 'GET'
        ? { query: url.searchParams.get('query') ?? undefined, extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}') as Record<string, unknown> }
        : (JSON.parse(init?.body as string) as { query?: string; extensions?: Record<string, unknown> });
    const hash = (params.extensions?.persistedQuery as { sha256Hash?: string } | undefined)?.sha256Hash;
    sent.push({ method, query: params.query || undefined, hash });
    return fetch(input, init);
  };
}

function apolloClient(url: string, sent: Sent[], useGET: boolean): ApolloClient {
  const link = createPersistedQueryLink({ sha256, useGETForHashedQueries: useGET }).concat(new HttpLink({ uri: url, fetch: recordingFetch(sent) }));
  return new ApolloClient({ link, cache: new InMemoryCache() });
}

describe('automatic persisted queries (Apollo Client persisted-queries link, urql persisted exchange)', () => {
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi({ auth: { mode: 'off' } });
  });
  afterAll(() => app.close());

  it('an unknown hash is answered with the protocol code PERSISTED_QUERY_NOT_FOUND (not rewritten)', async () => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ nothing }') } } }),
    });
    const body = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(body.errors).toEqual([{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }]);
  });

  for (const useGET of [false, true]) {
    it(`${useGET ? 'GET' : 'POST'}: the client sends the hash, registers the text on PERSISTED_QUERY_NOT_FOUND, and then the hash alone runs it`, async () => {
      const query = `query Count${useGET ? 'Get' : 'Post'} { openTicketCount }`;
      const sent: Sent[] = [];
      const first = apolloClient(app.url, sent, useGET);
      try {
        expect((await first.query({ query: parseGql(query) })).data).toEqual({ openTicketCount: 0 });
      } finally {
        first.stop();
      }
      // The hash alone (not found), then the text with its hash (registered).
      expect(sent).toEqual([
        { method: useGET ? 'GET' : 'POST', query: undefined, hash: expect.any(String) },
        { method: 'POST', query: expect.stringContaining('openTicketCount'), hash: sent[0]!.hash },
      ]);
      const again: Sent[] = [];
      const second = apolloClient(app.url, again, useGET);
      try {
        expect((await second.query({ query: parseGql(query) })).data).toEqual({ openTicketCount: 0 });
      } finally {
        second.stop();
      }
      expect(again).toEqual([{ method: useGET ? 'GET' : 'POST', query: undefined, hash: sent[0]!.hash }]);
    });

    it(`urql, ${useGET ? 'GET' : 'POST'}: the persisted exchange sends the hash, registers the text on PERSISTED_QUERY_NOT_FOUND, and then the hash alone runs it`, async () => {
      const query = `query CountUrql${useGET ? 'Get' : 'Post'} { openTicketCount }`;
      const urql = (sent: Sent[]): UrqlClient =>
        new UrqlClient({
          url: app.url,
          fetch: recordingFetch(sent),
          exchanges: [persistedExchange({ preferGetForPersistedQueries: useGET ? 'within-url-limit' : false }), fetchExchange],
        });
      const sent: Sent[] = [];
      const first = await urql(sent).query(query, {}).toPromise();
      expect(first.error).toBeUndefined();
      expect(first.data).toEqual({ openTicketCount: 0 });
      // The hash alone (not found), then the text with its hash (registered); urql retries the same way.
      // (urql hashes the document as it prints it, so the hash is of that text.)
      expect(sent[0]).toEqual({ method: useGET ? 'GET' : 'POST', query: undefined, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(sent.slice(1)).toEqual([{ method: expect.any(String), query: expect.stringContaining('openTicketCount'), hash: sent[0]!.hash }]);
      expect(sha256(sent[1]!.query!)).toBe(sent[0]!.hash);
      const again: Sent[] = [];
      const second = await urql(again).query(query, {}).toPromise();
      expect(second.data).toEqual({ openTicketCount: 0 });
      expect(again).toEqual([{ method: useGET ? 'GET' : 'POST', query: undefined, hash: sent[0]!.hash }]);
    });
  }
});

for (const how of ['listen', 'mount'] as const) {
  describe(`a safelist (API ${how === 'listen' ? 'on its own server' : 'mounted in Express'})`, () => {
    jest.setTimeout(20_000);
    const WATCH = 'subscription Watch($id: ID!) { ticketChanged(id: $id) { title } }';
    const manifest = { [sha256(COUNT)]: COUNT, [sha256(WATCH)]: WATCH };
    let app: TestApi;

    beforeAll(async () => {
      app = await startTestApi({ auth: { mode: 'off' }, safelist: manifest }, how);
    });
    afterAll(() => app.close());

    const refusal = { message: expect.stringContaining('safelist'), extensions: { code: 'QUERY_NOT_IN_SAFELIST' } };

    it('HTTP: a listed document runs, by text or by id alone (APQ), without ever being registered', async () => {
      expect((await gql(app.url, COUNT)).body).toEqual({ data: { openTicketCount: 0 } });
      const byId = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256(COUNT) } } }),
      });
      expect(await byId.json()).toEqual({ data: { openTicketCount: 0 } });
      const search = new URLSearchParams({ extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(COUNT) } }) });
      expect(await (await fetch(`${app.url}?${search.toString()}`)).json()).toEqual({ data: { openTicketCount: 0 } });
    });

    it('HTTP: an ad-hoc document is refused with 400 QUERY_NOT_IN_SAFELIST, over POST and GET, and APQ cannot register it', async () => {
      const adHoc = await gql(app.url, '{ openTicketCount }');
      expect(adHoc.status).toBe(400);
      expect(adHoc.body).toEqual({ errors: [refusal] });
      const get = await fetch(`${app.url}?${new URLSearchParams({ query: '{ openTicketCount }' }).toString()}`);
      expect(get.status).toBe(400);
      expect(await get.json()).toEqual({ errors: [refusal] });
      const register = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ tickets { totalCount } }', extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ tickets { totalCount } }') } } }),
      });
      expect(await register.json()).toEqual({ errors: [refusal] });
      const replay = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ tickets { totalCount } }') } } }),
      });
      expect(((await replay.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    });

    it('the refusal comes before parsing: an unparsable or huge document costs a lookup, not a parse', async () => {
      const unparsable = await gql(app.url, '{ this is not graphql');
      expect(unparsable.body).toEqual({ errors: [refusal] });
      // Deep nesting that would fail the depth limit if it were parsed and validated.
      const deep = `{ ${'tickets { edges { node { '.repeat(200)}ticketId${' } } }'.repeat(200)} }`;
      expect((await gql(app.url, deep)).body).toEqual({ errors: [refusal] });
    });

    it('WebSocket: a listed subscription runs (by text, or by id alone); an ad-hoc operation is refused with QUERY_NOT_IN_SAFELIST', async () => {
      const ws = wsClient(app.wsUrl);
      try {
        const listed = subscribe<{ ticketChanged: unknown }>(ws.client, WATCH, { id: 'safe' });
        expect((await listed.next()).data).toEqual({ ticketChanged: null });
        await listed.stop();
        const adHoc = subscribe(ws.client, 'subscription { ticketChanged(id: "x") { title } }');
        expect(await adHoc.failure()).toEqual([refusal]);
        // By id alone: an empty query and the listed document's hash.
        const byId = await new Promise<unknown>((resolve, reject) => {
          const stop = ws.client.subscribe(
            { query: '', variables: { id: 'by-id' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(WATCH) } } },
            { next: (result) => (stop(), resolve(result)), error: reject, complete: () => undefined },
          );
        });
        expect(byId).toEqual({ data: { ticketChanged: null } });
      } finally {
        await ws.dispose();
      }
    });

    it('SSE: a listed subscription runs (by text, or by id alone); an ad-hoc one is refused with QUERY_NOT_IN_SAFELIST', async () => {
      const client = createSseClient({ url: app.url, retryAttempts: 0 });
      try {
        const listed = client.iterate({ query: WATCH, variables: { id: 'safe' } })[Symbol.asyncIterator]();
        expect((await listed.next()).value).toEqual({ data: { ticketChanged: null } });
        await listed.return?.();
        const adHoc = client.iterate({ query: 'subscription { ticketChanged(id: "x") { title } }' })[Symbol.asyncIterator]();
        expect((await adHoc.next()).value).toEqual({ errors: [refusal] });
      } finally {
        client.dispose();
      }
      const byId = await fetch(app.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ variables: { id: 'by-id' }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(WATCH) } } }),
      });
      expect(byId.status).toBe(200);
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of byId.body as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk);
        if (text.includes('event: next')) break;
      }
      expect(text).toContain(JSON.stringify({ data: { ticketChanged: null } } satisfies ExecutionResult));
      // An event stream opened with GET (as EventSource does), by id alone.
      const search = new URLSearchParams({ variables: JSON.stringify({ id: 'by-get' }), extensions: JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(WATCH) } }) });
      const byGet = await fetch(`${app.url}?${search.toString()}`, { headers: { accept: 'text/event-stream' } });
      expect(byGet.status).toBe(200);
      let streamed = '';
      for await (const chunk of byGet.body as AsyncIterable<Uint8Array>) {
        streamed += decoder.decode(chunk);
        if (streamed.includes('event: next')) break;
      }
      expect(streamed).toContain(JSON.stringify({ data: { ticketChanged: null } }));
    });
  });
}
