import type { ApiContext, ApiServices } from '../../src/api/api-context';
import { DEFAULT_API_LIMITS } from '../../src/api/limits';
import { liveQuery } from '../../src/api/live-query';
import { Position } from '../../src/event-store/position';
import { ChangeFeed } from '../../src/projections/change-feed';

/** Live queries over an in-memory change feed; `values` is what the next read returns. */
function harness(onListenerError?: (error: unknown) => void) {
  const changes = new ChangeFeed(onListenerError);
  const shutdown = new AbortController();
  const context = {
    user: undefined,
    services: { limits: DEFAULT_API_LIMITS, shutdown: shutdown.signal, projections: { changes } } as unknown as ApiServices,
    idempotencyKey: undefined,
    transport: 'ws',
    connection: undefined,
  } as ApiContext;
  let commit = 0n;
  return {
    context,
    change: (keys: readonly string[] | 'all' = ['k'], projection = 'p') =>
      changes.publish({ projection, version: 1, position: Position.of(++commit, commit), keys }),
    stop: () => shutdown.abort(),
  };
}

describe('liveQuery: unchanged values are not sent twice', () => {
  it('subscribers holding the same shared values each skip an equal value and each get a changed one', async () => {
    const { context, change, stop } = harness();
    const first = { doc: { title: 'a' } };
    let current: object = first;
    const one = liveQuery(context, { projection: 'p', read: () => Promise.resolve(current) });
    const two = liveQuery(context, { projection: 'p', read: () => Promise.resolve(current) });
    expect((await one.next()).value).toBe(first);
    expect((await two.next()).value).toBe(first);

    current = { doc: { title: 'a' } }; // equal, another object: nobody gets it
    change();
    const changed = { doc: { title: 'b' } };
    current = changed;
    change();
    expect((await one.next()).value).toBe(changed);
    expect((await two.next()).value).toBe(changed);
    stop();
    expect((await one.next()).done).toBe(true);
  });

  it('a subscriber whose last value differs from the others\' still compares its own', async () => {
    const { context, change, stop } = harness();
    let current: object = { doc: { title: 'old' } };
    const early = liveQuery(context, { projection: 'p', read: () => Promise.resolve(current) });
    await early.next();
    current = { doc: { title: 'new' } };
    change();
    expect((await early.next()).value).toEqual({ doc: { title: 'new' } });
    // Subscribed after the change: its first value is already 'new'; an equal value is not sent again.
    const late = liveQuery(context, { projection: 'p', read: () => Promise.resolve(current) });
    expect((await late.next()).value).toEqual({ doc: { title: 'new' } });
    current = { doc: { title: 'new' } };
    change();
    const newest = { doc: { title: 'newest' } };
    current = newest;
    change();
    expect((await late.next()).value).toBe(newest);
    expect((await early.next()).value).toBe(newest);
    stop();
  });
});

describe('liveQuery: shutdown', () => {
  it('ends every live query, including those that unsubscribed in between and those started after it', async () => {
    const { context, change, stop } = harness();
    let reads = 0;
    const read = (): Promise<object> => Promise.resolve({ read: ++reads });
    const queries = Array.from({ length: 3 }, () => liveQuery(context, { projection: 'p', read }));
    for (const query of queries) await query.next();
    expect((await queries[1]!.return!()).done).toBe(true);
    stop();
    for (const query of queries) expect((await query.next()).done).toBe(true);
    const readsAtShutdown = reads;
    change(); // nobody listens any more
    expect(reads).toBe(readsAtShutdown);
    const late = liveQuery(context, { projection: 'p', read });
    expect((await late.next()).done).toBe(true);
  });
});

describe('liveQuery: keyed queries', () => {
  it('are woken by changes of their keys (once per change, however many of them changed) and by keys: all, not by others', async () => {
    const { context, change, stop } = harness();
    const reads = { a: 0, ab: 0, c: 0 };
    const counter = (name: keyof typeof reads) => () => Promise.resolve({ [name]: ++reads[name] });
    const a = liveQuery(context, { projection: 'p', keys: ['a'], read: counter('a') });
    const ab = liveQuery(context, { projection: 'p', keys: ['a', 'b'], read: counter('ab') });
    const c = liveQuery(context, { projection: 'p', keys: ['c'], read: counter('c') });
    for (const query of [a, ab, c]) await query.next();

    change(['b', 'a']);
    expect((await a.next()).value).toEqual({ a: 2 });
    expect((await ab.next()).value).toEqual({ ab: 2 });
    change(['x']);
    change(['c'], 'other-projection');
    change(['c']);
    expect((await c.next()).value).toEqual({ c: 2 });
    change('all');
    expect((await a.next()).value).toEqual({ a: 3 });
    expect((await ab.next()).value).toEqual({ ab: 3 });
    expect((await c.next()).value).toEqual({ c: 3 });
    expect(reads).toEqual({ a: 3, ab: 3, c: 3 });

    await ab.return!();
    change(['a', 'b']);
    expect((await a.next()).value).toEqual({ a: 4 });
    expect(reads.ab).toBe(3);
    stop();
  });

  it('a query whose read throws at once fails alone: the others of its key are still woken', async () => {
    const errors: unknown[] = [];
    const { context, change, stop } = harness((error) => errors.push(error));
    let fail = false;
    const fragile = liveQuery(context, {
      projection: 'p',
      keys: ['k'],
      read: () => {
        if (fail) throw new Error('read failed at once');
        return Promise.resolve({ fragile: true });
      },
    });
    let reads = 0;
    const sturdy = liveQuery(context, { projection: 'p', keys: ['k'], read: () => Promise.resolve({ reads: ++reads }) });
    await fragile.next();
    await sturdy.next();
    fail = true;
    change(['k']);
    expect((await sturdy.next()).value).toEqual({ reads: 2 });
    await expect(fragile.next()).rejects.toThrow('read failed at once');
    expect(errors).toEqual([]);
    stop();
  });
});
