import { request } from 'node:http';
import { startTestApi, type TestApi } from './support/test-api';

/** What one raw HTTP POST answers; `chunks` are sent with chunked transfer encoding (no content-length). */
function post(url: string, headers: Record<string, string>, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const MALFORMED = { errors: [{ message: 'malformed request body', extensions: { code: 'BAD_USER_INPUT' } }] };

/** The API's own server answers plain JSON POSTs without Express; these hold it to the same answers. */
describe('GraphQL over HTTP POST on the API\'s own server', () => {
  let app: TestApi;

  beforeAll(async () => {
    app = await startTestApi({ limits: { bodyLimit: '1kb' } });
  });
  afterAll(() => app.close());

  it('answers a query, with a JSON content type and length', async () => {
    const response = await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ query: '{ openTicketCount }' }) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
    expect(await response.json()).toEqual({ data: { openTicketCount: 0 } });
  });

  it('malformed JSON, and JSON that is not an object or array, are BAD_USER_INPUT with 400', async () => {
    for (const body of ['{"query": ', '"{ openTicketCount }"', '42']) {
      const response = await post(app.url, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, [body]);
      expect(response.status).toBe(400);
      expect(JSON.parse(response.body)).toEqual(MALFORMED);
    }
  });

  it('a chunked body that grows past the limit is refused with 413 (no content-length to refuse it up front)', async () => {
    const response = await post(app.url, { 'content-type': 'application/json' }, ['{"query":"{ openTicketCount }","variables":{"p":"', 'x'.repeat(600), 'x'.repeat(600), '"}}']);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body)).toEqual({
      errors: [{ message: 'the request body exceeds the limit of 1kb', extensions: { code: 'BAD_USER_INPUT', limit: 'bodySize', max: '1kb' } }],
    });
  });

  it('a chunked body within the limit is answered', async () => {
    const response = await post(app.url, { 'content-type': 'application/json' }, ['{"query":', '"{ openTicketCount }"}']);
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ data: { openTicketCount: 0 } });
  });
});
