// Which requests on the GraphQL path go to graphql-sse: those that ask for an event stream first.
import { prefersEventStream } from '../../src/api/sse-server';

describe('prefersEventStream', () => {
  it.each([
    ['text/event-stream', true],
    ['text/event-stream; charset=utf-8', true],
    ['TEXT/EVENT-STREAM', true],
    ['text/event-stream, application/json;q=0.5', true],
    ['application/json;q=0.2, text/event-stream', true],
  ])('%s asks for an event stream', (accept, expected) => {
    expect(prefersEventStream(accept)).toBe(expected);
  });

  it.each([
    // urql's fetchExchange: JSON first, event streams only for incremental delivery.
    ['application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed', false],
    ['application/json', false],
    ['*/*', false],
    ['text/event-stream;q=0', false],
    ['text/event-stream;q=0.5, application/json', false],
    ['', false],
  ])('%s does not', (accept, expected) => {
    expect(prefersEventStream(accept)).toBe(expected);
  });

  it('is undefined-safe and linear: a long header of ranges is one pass', () => {
    expect(prefersEventStream(undefined)).toBe(false);
    expect(prefersEventStream(`${'application/json;q=0.1, '.repeat(10_000)}text/event-stream`)).toBe(true);
  });
});
