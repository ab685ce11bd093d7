import { Position } from '../../src/event-store/position';
import { ChangeFeed, type ProjectionChange } from '../../src/projections';

function change(projection: string, n: number, keys: string[] = [`k-${n}`]): ProjectionChange {
  return { projection, version: 1, position: Position.of(BigInt(n), BigInt(n)), keys };
}

describe('ChangeFeed', () => {
  it('tells every listener at once, and a throwing listener neither stops the others nor the publisher', () => {
    const errors: unknown[] = [];
    const feed = new ChangeFeed((error) => errors.push(error));
    const heard: number[] = [];
    feed.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = feed.subscribe((c) => heard.push(Number(c.position.commit)));
    feed.publish(change('p', 1));
    unsubscribe();
    feed.publish(change('p', 2));
    expect(heard).toEqual([1]);
    expect(errors).toHaveLength(2);
  });

  it('iterates announcements of one projection and ends on abort', async () => {
    const feed = new ChangeFeed();
    const abort = new AbortController();
    const seen: string[] = [];
    const consumer = (async () => {
      for await (const c of feed.watch({ projection: 'a', signal: abort.signal })) {
        seen.push(`${c.projection}:${String(c.position.commit)}`);
        if (seen.length === 2) abort.abort();
      }
    })();
    feed.publish(change('a', 1));
    feed.publish(change('b', 2));
    feed.publish(change('a', 3));
    await consumer;
    expect(seen).toEqual(['a:1', 'a:3']);
  });

  it('merges a slow consumer’s overflow into one "all" at the newest position instead of dropping news', async () => {
    const feed = new ChangeFeed();
    const iterator = feed.watch({ bufferSize: 3 })[Symbol.asyncIterator]();
    for (let n = 1; n <= 10; n++) feed.publish(change('a', n));
    const first = await iterator.next();
    expect(first.value).toMatchObject({ projection: 'a', keys: 'all' });
    expect((first.value as ProjectionChange).position.commit).toBe(10n);
    await iterator.return!();
  });
});
