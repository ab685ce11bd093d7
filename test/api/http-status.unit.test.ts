import { failedAuthentication, responseMediaType } from '../../src/api/http-status';

const UNAUTHENTICATED = { message: 'authentication required', extensions: { code: 'UNAUTHENTICATED' } };

describe('responseMediaType: the JSON type an Accept header prefers (it decides 400 or 200 for a request error)', () => {
  it.each([
    [undefined, 'application/json'],
    ['', 'application/json'],
    ['application/json', 'application/json'],
    ['*/*', 'application/json'],
    ['application/*', 'application/json'],
    ['application/graphql-response+json', 'application/graphql-response+json'],
    // Apollo Client 4
    ['application/graphql-response+json,application/json;q=0.9', 'application/graphql-response+json'],
    // urql 6: equal quality, the earlier one wins
    ['application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed', 'application/graphql-response+json'],
    ['application/json, application/graphql-response+json', 'application/json'],
    ['application/json;q=0.5, application/graphql-response+json;q=0.8', 'application/graphql-response+json'],
    // A specific range decides over a wildcard, also when it refuses the type.
    ['*/*, application/json;q=0', 'application/graphql-response+json'],
    ['text/html', undefined],
    ['application/json;q=0, application/graphql-response+json;q=0', undefined],
  ])('%p -> %p', (accept, expected) => {
    expect(responseMediaType(accept)).toBe(expected);
  });
});

describe('failedAuthentication: 401 only when nothing but UNAUTHENTICATED came back', () => {
  it('no data, or only null root fields, with only UNAUTHENTICATED errors', () => {
    expect(failedAuthentication(null, [UNAUTHENTICATED])).toBe(true);
    expect(failedAuthentication(undefined, [UNAUTHENTICATED])).toBe(true);
    expect(failedAuthentication({ me: null, orders: null }, [UNAUTHENTICATED, UNAUTHENTICATED])).toBe(true);
  });

  it('a partial result, another error code, or no errors is not an authentication failure', () => {
    expect(failedAuthentication({ me: null, restaurants: [] }, [UNAUTHENTICATED])).toBe(false);
    expect(failedAuthentication(null, [UNAUTHENTICATED, { message: 'no', extensions: { code: 'FORBIDDEN' } }])).toBe(false);
    expect(failedAuthentication(null, [{ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } }])).toBe(false);
    expect(failedAuthentication(null, [])).toBe(false);
  });
});
