import {
  DEFAULT_STORE,
  InMemoryEventStore,
  InvalidConnectionStringError,
  connectEventStore,
  parseConnectionString,
  resolveConnectionString,
} from '../../src/event-store';

describe('store connection strings', () => {
  it.each([
    ['memory:', { backend: 'memory' }],
    ['sqlite:./data/events.db', { backend: 'sqlite', path: './data/events.db' }],
    ['sqlite:///var/lib/app/events.db', { backend: 'sqlite', path: '/var/lib/app/events.db' }],
    ['sqlite::memory:', { backend: 'sqlite', path: ':memory:' }],
    ['postgres://u:p@127.0.0.1:5432/app', { backend: 'postgres', url: 'postgres://u:p@127.0.0.1:5432/app' }],
    ['postgresql://127.0.0.1/app', { backend: 'postgres', url: 'postgresql://127.0.0.1/app' }],
    ['esdb://127.0.0.1:2113?tls=false', { backend: 'eventstoredb', url: 'esdb://127.0.0.1:2113?tls=false' }],
    ['kurrentdb://127.0.0.1:2113?tls=false', { backend: 'eventstoredb', url: 'esdb://127.0.0.1:2113?tls=false' }],
    ['esdb+discover://a:2113,b:2113', { backend: 'eventstoredb', url: 'esdb+discover://a:2113,b:2113' }],
  ])('parses %s', (text, expected) => {
    expect(parseConnectionString(text)).toEqual(expected);
  });

  it.each(['', '   ', 'mysql://localhost/db', 'sqlite:', 'memory:extra', 'just-a-path.db', 'postgres://'])(
    'refuses %j with a typed error',
    (text) => {
      expect(() => parseConnectionString(text)).toThrow(InvalidConnectionStringError);
    },
  );

  it('never echoes a password in the error', () => {
    expect(() => parseConnectionString('mysql://admin:s3cret@db/app')).toThrow(/admin:\*\*\*@/);
    expect(() => parseConnectionString('mysql://admin:s3cret@db/app')).not.toThrow(/s3cret/);
  });

  it('opens the in-memory store from memory:', async () => {
    const store = await connectEventStore('memory:');
    expect(store).toBeInstanceOf(InMemoryEventStore);
    expect(store.backend).toBe('memory');
    await store.close();
  });

  it('takes the argument first, then EVENTFOLD_STORE, then the embedded default', () => {
    expect(resolveConnectionString('memory:', { EVENTFOLD_STORE: 'postgres://h/db' })).toBe('memory:');
    expect(resolveConnectionString(undefined, { EVENTFOLD_STORE: 'postgres://h/db' })).toBe('postgres://h/db');
    expect(resolveConnectionString(undefined, { EVENTFOLD_STORE: '  ' })).toBe(DEFAULT_STORE);
    expect(resolveConnectionString(undefined, {})).toBe(DEFAULT_STORE);
    expect(parseConnectionString(DEFAULT_STORE).backend).toBe('sqlite');
  });

  it('opens the store named by EVENTFOLD_STORE when called without an argument', async () => {
    const previous = process.env.EVENTFOLD_STORE;
    process.env.EVENTFOLD_STORE = 'memory:';
    try {
      const store = await connectEventStore();
      expect(store.backend).toBe('memory');
      await store.close();
      process.env.EVENTFOLD_STORE = 'redis://nope';
      await expect(connectEventStore()).rejects.toBeInstanceOf(InvalidConnectionStringError);
    } finally {
      if (previous === undefined) delete process.env.EVENTFOLD_STORE;
      else process.env.EVENTFOLD_STORE = previous;
    }
  });
});
